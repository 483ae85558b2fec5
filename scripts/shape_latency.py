"""Batch-1 latency on the game's path by model shape, as if each shape answered every turn right.

The composition of experts (brain/experts.py) can win on latency only where a narrower model answers a turn
faster on the game's path. Training each size to the target takes CPU hours; measuring its latency does not.
On a turn whose rules draft the model takes whole (every turn, for a model at 100%), the game's path is one
ONNX call over prompt + draft, then the parse and the invariants. So each shape here is an untrained model of
that shape (the shipped vocabulary, context and step graph) behind an oracle that takes the draft: the ONNX
call is really made and timed, and its logits are then replaced by the draft's own tokens. The shipped model
runs beside them twice, plainly and behind the same oracle, to show what the oracle itself costs; and a row
with no model call at all gives the floor: what the game path spends around the model.

    PYTHONPATH=. python scripts/shape_latency.py [--shapes 1x32,2x32,1x64,2x64,2x96] [--n 1000] [--suite iid]
        [--compose strikes=2x64,self=2x32,ignite=2x32 ...] [--out brain/reports/shape_latency.json]

Shapes take turns case by case, so whatever else the machine does falls on each alike. A composition's
figure is per turn the time of the shape its route would use (brain.experts.ROUTES): its p95 is over the
mixture the suite draws.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from brain.bench import summary
from brain.engine import ModelResolver
from brain.experts import DEFAULT_ROUTER
from brain.onnxform import OrtDecoder
from brain.suites import held_out
from brain.sweep import parse_sizes
from game.combat.rules import resolve
from game.content import load_ruleset

SHIPPED = "shipped"
FLOOR = "no model"


class Oracle:
    """A decoder that makes its inner decoder's call, then answers as a model that always takes the draft."""

    name = "onnx"

    def __init__(self, inner, eos: int) -> None:
        self.inner, self.eos = inner, eos

    def new_cache(self) -> list:
        return self.inner.new_cache()

    def forward(self, ids, roles, cache) -> np.ndarray:
        return self.forward_all(ids, roles, cache)[-1]

    def forward_all(self, ids, roles, cache) -> np.ndarray:
        logits = self.inner.forward_all(ids, roles, cache)
        fake = np.full_like(logits, -1e9)
        fake[np.arange(len(ids) - 1), ids[1:]] = 0.0  # row j predicts the token fed after it: the draft's
        fake[-1, self.eos] = 0.0
        return fake

    def truncate(self, cache: list, length: int) -> None:
        self.inner.truncate(cache, length)


class NoModel:
    """A decoder that calls no model at all: behind the oracle, the game path's floor (encode, draft, grammar,
    parse, invariants), which no shape can go below."""

    def __init__(self, vocab: int) -> None:
        self.vocab = vocab

    def new_cache(self) -> list:
        return [0]

    def forward_all(self, ids, roles, cache) -> np.ndarray:
        cache[0] += len(ids)
        return np.zeros((len(ids), self.vocab), np.float32)

    def truncate(self, cache: list, length: int) -> None:
        cache[0] = min(cache[0], length)


def shape_session(base: ModelResolver, depth: int, width: int, where: Path, head_width: int = 32):
    """An ONNX session of an untrained model of this shape, otherwise configured as the shipped one."""
    import onnxruntime as ort
    import torch

    from brain.model import GPT
    from brain.onnxexport import write_onnx

    cfg = replace(base.engine.cfg, n_layer=depth, n_embd=width, n_head=width // head_width)
    torch.manual_seed(0)
    model = GPT(cfg)
    path = write_onnx(model, "untrained", where / f"{depth}x{width}.onnx")
    opts = ort.SessionOptions()  # as brain/onnxform.py opens the game's: one thread
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    session = ort.InferenceSession(path.read_bytes(), opts, providers=["CPUExecutionProvider"])
    params = sum(p.numel() for p in model.parameters())
    return OrtDecoder(session, depth, cfg.n_head, width // cfg.n_head), params


def measure(shapes: list[tuple[int, int]], n: int, suite: str, seed: int,
            head_width: int = 32) -> tuple[dict, list[str]]:
    """Per row (the shipped model plain, then each shape behind the oracle): the game path's times in ms per
    case, and the route of each case."""
    rules = load_ruleset(None)
    base = ModelResolver.load(None, rules, threads=1)
    if base.decoder != "onnx":
        raise SystemExit(f"shape_latency: the shipped model loads no ONNX decoder ({base.decoder_note}); "
                         "install the onnx extra")
    engine = base.engine
    eos = engine.tok.eos
    decoders = {SHIPPED: engine.decoders["onnx"], f"{SHIPPED}+oracle": Oracle(engine.decoders["onnx"], eos)}
    params = {SHIPPED: base.num_params(), f"{SHIPPED}+oracle": base.num_params()}
    decoders[FLOOR], params[FLOOR] = Oracle(NoModel(engine.cfg.vocab_size), eos), 0
    with tempfile.TemporaryDirectory() as tmp:
        for depth, width in shapes:
            dec, p = shape_session(base, depth, width, Path(tmp), head_width)
            decoders[f"{depth}x{width}"] = Oracle(dec, eos)
            params[f"{depth}x{width}"] = p
    cases = held_out(suite, n + 10, rules, seed=seed)
    times: dict[str, list[float]] = {k: [] for k in decoders}
    for i, case in enumerate(cases):
        want = resolve(*case, rules)
        for name, dec in decoders.items():
            engine.decoders["onnx"] = dec
            t = time.perf_counter()
            got = base.resolve_one(case)
            ms = (time.perf_counter() - t) * 1000
            if not got.ok or got.next_state != want.next_state or not got.decode.startswith("1 model call,"):
                raise SystemExit(f"shape_latency: {name} did not answer case {i} right in one call "
                                 f"({got.error or got.decode}); the oracle must take the draft")
            if i >= 10:  # the first ten warm each session up
                times[name].append(ms)
    engine.decoders["onnx"] = decoders[SHIPPED]
    routes = [DEFAULT_ROUTER.route(action) for _, action, _ in cases[10:]]
    rows = {k: {"params": params[k], **summary(v), "times": v} for k, v in times.items()}
    return rows, routes


def compose(rows: dict, routes: list[str], spec: str) -> dict:
    """A composition's per-turn times: each turn takes the time of its route's shape."""
    pick = dict(part.split("=", 1) for part in spec.split(","))
    missing = set(DEFAULT_ROUTER.routes) - set(pick)
    if missing or any(s not in rows for s in pick.values()):
        raise SystemExit(f"shape_latency: --compose {spec!r} needs a measured shape for each of "
                         f"{', '.join(DEFAULT_ROUTER.routes)}")
    ms = [rows[pick[r]]["times"][i] for i, r in enumerate(routes)]
    params = sum(rows[s]["params"] for s in pick.values())
    return {"spec": spec, "params": params, **summary(ms)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default="1x32,2x32,1x64,2x64,2x96")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--suite", default="iid")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--compose", nargs="*", default=[])
    ap.add_argument("--head-width", type=int, default=32, help="attention head width (the project's models: 32)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    try:
        shapes = parse_sizes(args.shapes, args.head_width)
    except ValueError as exc:
        raise SystemExit(f"shape_latency: {exc}") from None
    rows, routes = measure(shapes, args.n, args.suite, args.seed, args.head_width)
    ref = rows[SHIPPED]["p95"]
    print(f"game path, batch 1, one thread, {args.n} {args.suite} turns (oracle: every draft taken)")
    print(f"{'row':<16}{'params':>9}{'p50 ms':>9}{'p95 ms':>9}{'p95 / shipped':>15}")
    for name, r in rows.items():
        print(f"{name:<16}{r['params']:>9,}{r['p50']:>9.2f}{r['p95']:>9.2f}{r['p95'] / ref:>15.2f}")
    comps = [compose(rows, routes, spec) for spec in args.compose]
    for c in comps:
        print(f"{c['spec']}: params {c['params']:,}, p50 {c['p50']:.2f} ms, p95 {c['p95']:.2f} ms, "
              f"p95 / shipped {c['p95'] / ref:.2f}")
    if args.out:
        out = {"command": " ".join(sys.argv), "head_width": args.head_width, "suite": args.suite, "n": args.n,
               "seed": args.seed,
               "rows": {k: {kk: vv for kk, vv in r.items() if kk != "times"} for k, r in rows.items()},
               "compositions": comps}
        args.out.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
