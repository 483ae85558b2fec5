"""What a CPU training step of the cpu preset costs, by batch order, loss path and threads.

    PYTHONPATH=. python scripts/bench_step.py --data DIR [--steps 40] [--threads 1 2] [--optimizers muon adamw]

--optimizers defaults to the preset's.

Batches of the preset's size from the shards' train split, either random (the preset) or length-bucketed
(`train --bucket 64`: each window of 64 batches sorted by length). Two loss paths: the full logits of every
(B, T) place then cross entropy (how training ran before), and GPT.loss through forward(targets=...) (how it
runs now: only the tokens a target can see, the head only at targets). Prints one JSON row per variant: the
median ms of a whole optimizer step (after 5 warm-up steps) and the mean padded length T. Run it on a quiet
machine; two threads stall whenever another process holds a core.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from brain.model import GPT
from brain.shards import Sampler, Split, load_manifest
from brain.tokenizer import Tokenizer
from brain.train import PRESETS, make_optimizer, train_step
from game.content import load_ruleset


class FullLogits(torch.nn.Module):
    """The loss as training computed it before GPT.loss: the logits of every (B, T) place, then cross entropy."""

    def __init__(self, model: GPT) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, r: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = self.model(x, r)
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)


def step_ms(split: Split, sampler: Sampler, full: bool, steps: int, optimizer: str) -> tuple[float, float]:
    """Median ms of train_step (after 5 warm-up steps) and the mean padded length of the batches."""
    tc = replace(PRESETS["cpu"], optimizer=optimizer)
    torch.manual_seed(0)
    model = GPT(tc.model_config(len(Tokenizer.from_format()))).train()
    opt = make_optimizer(model, tc)
    stepped = FullLogits(model) if full else model
    times, lengths = [], []
    for i in range(steps):
        x, y, r = (torch.from_numpy(a) for a in split.batch(sampler.indices(i)))
        t0 = time.perf_counter()
        train_step(stepped, opt, tc, 300 + i, x, y, r)
        times.append(time.perf_counter() - t0)
        lengths.append(x.shape[1])
    return float(np.median(times[5:]) * 1000), float(np.mean(lengths))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--optimizers", nargs="+", default=[PRESETS["cpu"].optimizer], choices=["muon", "adamw"])
    args = p.parse_args()
    split = Split(args.data, "train", load_manifest(args.data, load_ruleset(None)), verify=False)
    b = PRESETS["cpu"].batch_size
    for threads in args.threads:
        torch.set_num_threads(threads)
        for bucket in (0, 64):
            sampler = Sampler(len(split), b, 1, lengths=split.lengths() if bucket else None, bucket=bucket)
            for full in (True, False):
                for optimizer in args.optimizers:
                    ms, T = step_ms(split, sampler, full, args.steps, optimizer)
                    print(json.dumps({"threads": threads, "batches": f"bucket {bucket}" if bucket else "random",
                                      "loss": "full logits" if full else "GPT.loss", "optimizer": optimizer,
                                      "batch": b, "ms_per_step": round(ms), "mean_T": round(T, 1)}), flush=True)


if __name__ == "__main__":
    main()
