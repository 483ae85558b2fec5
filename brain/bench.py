"""Speed of the model resolver: batch-1 latency on one thread, load time, throughput, size.

Latency is per resolved turn through ModelResolver.resolve_batch (encode,
decode, parse, invariants), as the game calls it, with the decoder the game
loads (onnx when model.onnx and onnxruntime are there, else numpy). The other
decoders and decoding without forced-token fast-forward are measured beside it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from brain.checkpoint import WEIGHTS
from brain.engine import DEFAULT_MODEL, ModelResolver
from brain.evaluate import held_out
from game.combat.format import encode_input
from game.combat.ruleset import Ruleset

_LOAD_SCRIPT = """
import time, sys
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
from brain.engine import ModelResolver
from game.content import load_ruleset
rules = load_ruleset(None if sys.argv[2] == '-' else sys.argv[2])
t2 = time.perf_counter()
ModelResolver.load(sys.argv[1], rules, threads=1)
t3 = time.perf_counter()
print(t3 - t0, t3 - t2)
"""


def percentile(xs: list[float], q: float) -> float:
    """The sample at quantile q of the sorted values (nearest rank)."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def bench(model_dir: Path | None, rules: Ruleset, n: int = 200, big_batch: int = 512,
          content: Path | None = None) -> dict:
    model_dir = Path(model_dir) if model_dir else DEFAULT_MODEL
    torch.set_num_threads(1)
    loads = []
    for _ in range(3):
        t = time.perf_counter()
        res = ModelResolver.load(model_dir, rules, threads=1)
        loads.append(time.perf_counter() - t)
    cases = held_out("iid", n, rules, seed=7)
    for case in cases[:10]:  # warm up
        res.resolve_batch([case])
    # the game's path (its decoder's fast-forward, parse, invariants), then the other decoders side by side
    others = [b for b in ("onnx", "numpy", "torch") if b != res.engine.decoder and b in res.engine.decoders]
    lat: dict[str, list[float]] = {"fast_forward": [], **{f"fast_forward_{b}": [] for b in others}, "lockstep": []}
    for case in cases:
        t = time.perf_counter()
        res.resolve_batch([case])
        lat["fast_forward"].append((time.perf_counter() - t) * 1000)
        block = encode_input(*case)
        for b in others:
            t = time.perf_counter()
            res.engine.generate([block], backend=b)
            lat[f"fast_forward_{b}"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        res.engine.generate([block], fast_forward=False)
        lat["lockstep"].append((time.perf_counter() - t) * 1000)
    big = held_out("iid", big_batch, rules, seed=8)
    t = time.perf_counter()
    res.resolve_batch(big)
    big_s = time.perf_counter() - t
    torch.set_num_threads(2)
    t = time.perf_counter()
    res.resolve_batch(big)
    big2_s = time.perf_counter() - t
    cold = subprocess.run([sys.executable, "-c", _LOAD_SCRIPT, str(model_dir), str(content) if content else "-"],
                          capture_output=True, text=True, check=True).stdout.split()
    return {
        "model": str(model_dir), "params": res.engine.model.num_params(),
        "decoder": res.engine.decoder, "decoder_note": res.decoder_note,
        "weights_mb": (model_dir / WEIGHTS).stat().st_size / 1e6,
        "load_s": min(loads), "load_cold_with_import_torch_s": float(cold[0]), "load_cold_s": float(cold[1]),
        "batch1_threads1_ms": {k: {"p50": statistics.median(v), "p95": percentile(v, 0.95), "mean": statistics.mean(v)}
                               for k, v in lat.items()},
        "batch1_n": n,
        f"batch{big_batch}_threads1_ms_per_turn": big_s * 1000 / big_batch,
        f"batch{big_batch}_threads1_turns_per_s": big_batch / big_s,
        f"batch{big_batch}_threads2_turns_per_s": big_batch / big2_s,
    }
