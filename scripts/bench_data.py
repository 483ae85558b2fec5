"""Where a CPU training step's time goes: making the batch (stream or shards) versus the model's step.

    PYTHONPATH=. python scripts/bench_data.py --data DIR [--steps 150] [--preset default]

Prints one JSON object: ms per batch of the stream (rules + tokenizer + grammar + roles, one process) and of
the shards (memory-map gather + vectorized roles), ms per optimizer step on a fixed batch (one thread), and
end-to-end steps/s and tokens/s of `train` from the shards and from the stream over the same steps.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from brain.data import Mix
from brain.model import GPT
from brain.shards import Sampler, Split, load_manifest
from brain.tokenizer import Tokenizer
from brain.train import PRESETS, _batch, _init_worker, make_optimizer, train, train_step
from game.content import load_ruleset


def ms_per(fn, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t0) / n * 1000


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--preset", default="default")
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--n", type=int, default=20, help="batches timed for the batch-only figures")
    args = p.parse_args()
    rules = load_ruleset(None)
    tc = replace(PRESETS[args.preset], log_every=25, eval_every=10**9, ckpt_every=10**9)
    torch.set_num_threads(tc.threads)
    out: dict = {"preset": args.preset, "depth": tc.depth, "batch_size": tc.batch_size, "threads": tc.threads}

    from dataclasses import asdict
    _init_worker(asdict(rules), asdict(Mix(tc.edge, tc.easy_keep)), tc.batch_size, tc.seed, 0)
    out["stream_ms_per_batch"] = round(ms_per(_batch, args.n), 1)
    split = Split(args.data, "train", load_manifest(args.data, rules))
    sampler = Sampler(len(split), tc.batch_size, tc.seed)
    out["shards_ms_per_batch"] = round(ms_per(lambda i: split.batch(sampler.indices(i)), args.n * 5), 2)

    tok = Tokenizer.from_format()
    model = GPT(tc.model_config(len(tok)))
    opt = make_optimizer(model, tc)
    x, y, r = (torch.from_numpy(a) for a in split.batch(sampler.indices(0)))

    def step(i: int) -> None:
        train_step(model, opt, tc, i, x, y, r)

    step(0)
    out["model_ms_per_step"] = round(ms_per(step, args.n), 1)
    out["tokens_per_batch"] = int(x.numel())

    tmp = Path(tempfile.mkdtemp())
    try:
        for name, data in (("shards", str(args.data)), ("stream", None)):
            run = replace(tc, data=data, steps=max(tc.total_steps(), args.steps))
            train(run, tmp / name, rules, quiet=True, until=args.steps)
            log = [json.loads(line) for line in (tmp / name / "train_log.jsonl").read_text().splitlines()]
            a, b = log[0], log[-1]  # from the first logged step on: pool start-up and warm-up excluded
            steps_s = (b["step"] - a["step"]) / (b["elapsed_s"] - a["elapsed_s"])
            out[f"{name}_steps_per_s"] = round(steps_s, 2)
            out[f"{name}_tokens_per_s"] = round(np.mean([row["tok_s"] for row in log[1:]]))
    finally:
        shutil.rmtree(tmp)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
