"""Speed of the model resolver: batch-1 latency on one thread, load time, throughput, size.

Latency is per resolved turn (encode, decode, parse, invariants), as the game
calls it, with the decoder the game loads (onnx when model.onnx and onnxruntime
are there, else numpy) and each drafter (brain/draft.py: rules, the game's
default; copy; none), split by turns whose draft was taken whole. The other
decoders and decoding without forced-token fast-forward are measured beside it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from brain.checkpoint import WEIGHTS
from brain.draft import DRAFTS
from brain.engine import DecodeStats, ModelResolver, has_torch
from brain.experts import ExpertsResolver
from brain.paths import shipped_model_dir
from brain.suites import held_out
from game.combat.format import encode_input
from game.combat.judge import judge_answer
from game.combat.ruleset import Ruleset
from game.measure import percentile

# A fresh interpreter that loads the model as the game does, timed in three parts: the game's own
# imports, the model's imports (numpy, safetensors, onnxruntime where installed), and the load proper
# (files, checks, ONNX session, probe). Peak RSS, and proof that torch stayed out.
_LOAD_SCRIPT = """
import importlib.util, json, resource, sys, time
t0 = time.perf_counter()
from game.content import load_ruleset
from game.resolve import load_model_resolver
rules = load_ruleset(None if sys.argv[2] == '-' else sys.argv[2])
t1 = time.perf_counter()
import brain.engine
if importlib.util.find_spec('onnxruntime') is not None:
    import onnxruntime
t2 = time.perf_counter()
res = load_model_resolver(None if sys.argv[1] == '-' else sys.argv[1], rules)
t3 = time.perf_counter()
try:  # VmHWM starts afresh at exec; ru_maxrss would carry the forking parent's peak over
    rss_mb = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024
except OSError:
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"game_import_s": t1 - t0, "import_s": t2 - t1, "load_s": t3 - t2, "rss_mb": rss_mb,
                  "torch_imported": "torch" in sys.modules, "decoder": res.decoder}))
"""


def cold_load(model_dir: Path | None, content: Path | None = None) -> dict:
    """Load the model in a fresh process, the game's way (no torch): seconds and peak RSS in MB."""
    out = subprocess.run([sys.executable, "-c", _LOAD_SCRIPT, str(model_dir) if model_dir else "-",
                          str(content) if content else "-"], capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def summary(times: list[float]) -> dict:
    if not times:
        return {"n": 0}
    return {"n": len(times), "p50": percentile(times, 0.5), "p95": percentile(times, 0.95),
            "mean": statistics.mean(times)}


def drafter_latency(res: ModelResolver, cases: list) -> dict[str, dict]:
    """Per drafter (brain/draft.py), the game path's latency per turn, split into turns whose draft the model
    took whole and the rest, with the share of drafted tokens accepted and model calls per turn. The drafters
    take turns case by case, so that whatever else the machine does falls on each alike."""
    rows: dict[str, list[tuple[float, DecodeStats]]] = {d: [] for d in DRAFTS}
    for case in cases:
        for d, got in rows.items():
            stats = DecodeStats()
            t = time.perf_counter()
            text = res.answer(case, stats, draft=d)
            judge_answer(res.name, case[0], case[1], text, 0.0)
            got.append(((time.perf_counter() - t) * 1000, stats))
    out: dict[str, dict] = {}
    for d, got in rows.items():
        whole = [ms for ms, st in got if st.drafted and not st.rejected]
        rest = [ms for ms, st in got if not (st.drafted and not st.rejected)]
        drafted, accepted = sum(st.drafted for _, st in got), sum(st.accepted for _, st in got)
        out[d] = {**summary([ms for ms, _ in got]), "calls_per_turn": sum(st.calls for _, st in got) / len(got),
                  "accepted_tokens_share": accepted / drafted if drafted else None,
                  "whole_draft_accepted_share": len(whole) / len(got),
                  "whole_draft_accepted_ms": summary(whole), "otherwise_ms": summary(rest),
                  "times": [ms for ms, _ in got]}
    return out


def draft_identity(model_dir: Path | None, rules: Ruleset, n: int) -> dict:
    """Every drafter against undrafted greedy decoding on n held-out blocks per suite: token for token the same
    answer (the claim of exact speculative decoding), on the game's decoder."""
    res = ModelResolver.load(model_dir, rules, threads=1)
    out: dict = {"decoder": res.decoder}
    for suite in ("iid", "edge"):
        row = {"n": n, "different": {d: 0 for d in DRAFTS if d != "none"}, "calls": {d: 0 for d in DRAFTS}}
        for case in held_out(suite, n, rules):
            answers = {}
            for d in DRAFTS:
                stats = DecodeStats()
                answers[d] = res.answer(case, stats, draft=d)
                row["calls"][d] += stats.calls
            for d in row["different"]:
                row["different"][d] += answers[d] != answers["none"]
        row["calls_per_turn"] = {d: c / n for d, c in row.pop("calls").items()}
        out[suite] = row
    return out


def bench(model_dir: Path | None, rules: Ruleset, n: int = 200, big_batch: int = 512,
          content: Path | None = None) -> dict:
    model_dir = Path(model_dir) if model_dir else shipped_model_dir()
    cold = cold_load(model_dir, content)  # first, while this process is small
    torch = None
    if has_torch():
        import torch

        torch.set_num_threads(1)
    loads = []
    for _ in range(3):
        t = time.perf_counter()
        res = ModelResolver.load(model_dir, rules, threads=1)
        loads.append(time.perf_counter() - t)
    cases = held_out("iid", n, rules, seed=7)
    for case in cases[:10]:  # warm up
        res.resolve_batch([case])
    # the game's path (its decoder, each drafter, parse, invariants), then the other decoders undrafted
    drafts = drafter_latency(res, cases)
    others = [b for b in ("onnx", "numpy", "torch") if b != res.engine.decoder and b in res.engine.backends()]
    lat: dict[str, list[float]] = {"fast_forward": drafts["rules"].pop("times"),
                                   **{f"fast_forward_{b}": [] for b in others}}
    for d in drafts.values():
        d.pop("times", None)
    if torch is not None:
        lat["lockstep"] = []
    for case in cases:
        block = encode_input(*case)
        for b in others:
            t = time.perf_counter()
            res.engine.generate([block], backend=b)
            lat[f"fast_forward_{b}"].append((time.perf_counter() - t) * 1000)
        if torch is not None:
            t = time.perf_counter()
            res.engine.generate([block], fast_forward=False)
            lat["lockstep"].append((time.perf_counter() - t) * 1000)
    big = held_out("iid", big_batch, rules, seed=8)
    t = time.perf_counter()
    res.resolve_batch(big, draft="none")  # lockstep batches (torch), as eval decoded before drafting
    big_s = time.perf_counter() - t
    big2_s = None
    if torch is not None:
        torch.set_num_threads(2)
        t = time.perf_counter()
        res.resolve_batch(big, draft="none")
        big2_s = time.perf_counter() - t
        torch.set_num_threads(1)
    t = time.perf_counter()
    res.resolve_batch(big, draft="rules")  # one drafted turn after another: what eval and the arena do now
    drafted_s = time.perf_counter() - t
    return {
        "model": str(model_dir), "params": res.num_params(),
        "decoder": res.engine.decoder, "decoder_note": res.decoder_note,
        "weights_mb": (model_dir / WEIGHTS).stat().st_size / 1e6,
        # load_cold_s: what model mode adds to a fresh game process (the model's imports and the load)
        "load_s": min(loads), "load_cold_s": cold["import_s"] + cold["load_s"], "load_cold_imports_s": cold["import_s"],
        "load_cold_files_s": cold["load_s"], "rss_mb": cold["rss_mb"],
        "load_cold_imports_torch": cold["torch_imported"],
        "batch1_threads1_ms": {k: {"p50": percentile(v, 0.5), "p95": percentile(v, 0.95), "mean": statistics.mean(v)}
                               for k, v in lat.items()},
        "batch1_n": n,
        "drafts": drafts,
        f"batch{big_batch}_threads1_ms_per_turn": big_s * 1000 / big_batch,
        f"batch{big_batch}_threads1_turns_per_s": big_batch / big_s,
        f"batch{big_batch}_threads2_turns_per_s": big_batch / big2_s if big2_s else None,
        "drafted_rules_threads1_turns_per_s": big_batch / drafted_s,
    }


# ---------------------------------------------------------------- any resolver, and the experts

def bench_resolver(resolver, rules: Ruleset, n: int = 200) -> dict:
    """Batch-1 latency on the game's path, as `rpg-brain export` measures every form."""
    lat = batch1_latency(resolver, rules, n)
    return {"batch1_n": n, "batch1_p50_ms": lat["p50"], "batch1_p95_ms": lat["p95"]}


def bench_experts(directory: Path, rules: Ruleset, n: int = 200) -> dict:
    """`rpg-brain bench --resolver experts`: load time, size (every expert together) and batch-1 latency."""
    loads = []
    for _ in range(3):
        t = time.perf_counter()
        res = ExpertsResolver.load(directory, rules, threads=1)
        loads.append(time.perf_counter() - t)
    params = res.num_params()
    return {"experts": str(directory), "params": params, "fp32_bytes": 4 * params,
            "int8_bytes_est": params,  # one byte a parameter; brain/export.py's per-row scales not counted
            "weights_mb": sum((m.model_dir / WEIGHTS).stat().st_size for m in res.experts.values()) / 1e6,
            "per_expert_params": {k: m.num_params() for k, m in res.experts.items()},
            "decoder": res.decoder, "load_s": min(loads), **bench_resolver(res, rules, n)}


def batch1_latency(resolver, rules: Ruleset, n: int = 100) -> dict[str, float]:
    """Batch-1 p50/p95 in ms of any resolver on the game's path (resolve_batch of one case: decode, parse,
    invariants), after a warm-up: every form in `rpg-brain export`, the experts."""
    cases = held_out("iid", n, rules, seed=7)
    for case in cases[:5]:
        resolver.resolve_batch([case])
    times = []
    for case in cases:
        t = time.perf_counter()
        resolver.resolve_batch([case])
        times.append((time.perf_counter() - t) * 1000)
    return {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95)}



# ------------------------------------------------------------------ the `rpg-brain bench` stage

def add_arguments(b: argparse.ArgumentParser) -> None:
    b.add_argument("--model", type=Path, default=None)
    b.add_argument("--resolver", choices=("model", "experts"), default="model",
                   help="experts: load time, size and batch-1 latency of the composed resolver")
    b.add_argument("--experts", type=Path, default=None,
                   help="experts directory for --resolver experts (default: brain/models/experts)")
    b.add_argument("--n", type=int, default=200, help="batch-1 turns timed")
    b.add_argument("--json", action="store_true", help="indented JSON")
    b.add_argument("--identity", type=int, metavar="N", default=0,
                   help="instead: check that every drafter gives the undrafted answer on N held-out blocks per suite")


def run(args: argparse.Namespace) -> int:
    from brain.paths import shipped_experts_dir
    from game.content import load_ruleset

    try:
        if args.resolver == "experts":

            result = bench_experts(args.experts or shipped_experts_dir(), load_ruleset(args.content), n=args.n)
        elif args.identity:
            result = draft_identity(args.model, load_ruleset(args.content), args.identity)
        else:
            result = bench(args.model, load_ruleset(args.content), n=args.n, content=args.content)
    except ValueError as exc:
        raise ValueError(f"cannot load the model: {exc}") from exc
    print(json.dumps(result, indent=1 if args.json else None))
    return 0
