"""Fine-tune a trained model on play data mixed with fresh synthetic data, and measure before and after.

Read top to bottom: load the model, read the ingested play data (token shards, brain/ingest.py) and keep the
rows inside the model's envelope (the fine-tune teaches play, it does not widen what the model was trained on:
the model keeps its envelope, and the rows outside are counted), draw each batch half from those rows and half
from the model's own sampler (so nothing already learned is forgotten), a short AdamW run with warmup and cosine
decay at a thirtieth of the recipe's learning rate, save, then evaluate the old and the new model on the held-out
slice of play data (the ingest's val part) and on the standard suites.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from brain.checkpoint import CONFIG, load_model, model_envelope, save_model
from brain.data import Mix, stream
from brain.engine import ModelResolver
from brain.paths import shipped_model_dir
from brain.shards import PLAY, ShardError, Split, load_manifest
from brain.suites import held_out
from brain.suites.score import evaluate
from brain.train import TrainConfig, collate, encode_example, make_optimizer, train_step
from game.combat.format import parse_input
from game.combat.ruleset import Ruleset


@dataclass(frozen=True)
class FinetuneConfig:
    steps: int = 400
    batch_size: int = 64
    play_share: float = 0.5  # of each batch; the rest is fresh synthetic data
    lr: float = 1e-4  # 3e-4 cost the GPU-trained model 0.15 points of iid; 1e-4 nothing
    warmup: int = 20
    seed: int = 4242
    threads: int = 1


def finetune_recipe(config: dict, fc: FinetuneConfig) -> TrainConfig:
    """The run's recipe at the fine-tune's lr, steps and batch. The Muon matrices keep their ratio to the AdamW
    lr: a fine-tune at a tenth of the recipe's lr runs Muon at a tenth of its lr too (at the recipe's full Muon
    lr it undid what the model knew: iid 98.3 -> 97.4%, measured in docs/history.md)."""
    recipe = config.get("train", {}).get("config", {})
    muon_lr = recipe.get("muon_lr", TrainConfig.muon_lr) * fc.lr / recipe.get("lr", TrainConfig.lr)
    return TrainConfig(**{**recipe, "lr": fc.lr, "muon_lr": muon_lr, "warmup": fc.warmup, "steps": fc.steps,
                          "batch_size": fc.batch_size})


def finetune(src: Path, data: Path, out: Path, rules: Ruleset, fc: FinetuneConfig = FinetuneConfig(),
             quiet: bool = False) -> dict:
    torch.manual_seed(fc.seed)
    torch.set_num_threads(fc.threads)
    model, tok, config = load_model(src, rules.ruleset_id)
    envelope = model_envelope(config, src / CONFIG)
    manifest = load_manifest(data, rules)
    if manifest["sampler"]["name"] != PLAY:
        raise ShardError(f"{data / 'manifest.json'}: not play data (sampler {manifest['sampler']['name']!r}); "
                         "fine-tune on a dataset `rpg-brain ingest` wrote")
    split = Split(data, "train", manifest)
    keep = [k for k in range(len(split))
            if envelope is None or envelope.outside(parse_input(split.text(k)[0])) is None]
    if not keep:
        raise ValueError(f"{data}: no training rows of play data inside the model's envelope (of {len(split)}); "
                         "run `rpg-brain ingest` on more logs")
    rng = random.Random(fc.seed)
    sampler = envelope.sampler if envelope is not None and envelope.sampler != PLAY else Mix().sampler
    synthetic = stream(fc.seed, "train", rules, Mix(sampler=sampler))
    tc = finetune_recipe(config, fc)
    opt = make_optimizer(model, tc)
    model.train()
    n_play = round(fc.batch_size * fc.play_share)
    log = []
    t0 = time.time()
    for step in range(fc.steps):
        rows = [split.row(rng.choice(keep)) for _ in range(n_play)]
        rows += [encode_example(tok, ex.block, ex.answer) for ex, _ in zip(synthetic, range(fc.batch_size - n_play),
                                                                             strict=False)]
        x, y, r = (torch.from_numpy(a) for a in collate(rows, tok))
        loss, _ = train_step(model, opt, tc, step, x, y, r)
        if (step + 1) % 25 == 0 or step + 1 == fc.steps:
            log.append({"step": step + 1, "loss": round(loss.item(), 5), "elapsed_s": round(time.time() - t0, 1)})
            if not quiet:
                print(f"finetune step {step + 1}/{fc.steps} loss {loss.item():.4f}", file=sys.stderr, flush=True)
    model.eval()
    extra = {k: v for k, v in config.items() if k not in ("model", "params", "tokenizer", "weights_sha256",
                                                         "format_version", "ruleset_id")}
    extra["finetune"] = {"from": str(src), "data": str(data), "play_rows": len(keep),
                         "play_rows_outside_envelope": len(split) - len(keep), "config": fc.__dict__,
                         "log": log, "data_manifest": {k: manifest[k] for k in ("counts", "ingest")}}
    save_model(out, model, tok, rules.ruleset_id, extra)
    return extra["finetune"]


def compare(before: Path, after: Path, data: Path, rules: Ruleset, n: int = 1000) -> dict:
    """Both models on the held-out play slice and on the standard suites."""
    val = Split(data, "val", load_manifest(data, rules))
    heldout = [parse_input(val.text(k)[0]) for k in range(len(val))]
    out = {"play_heldout_n": len(heldout)}
    for name, path in (("before", before), ("after", after)):
        res = ModelResolver.load(path, rules)
        scored = evaluate(res, heldout, rules) if heldout else None
        row = {"play_heldout": scored["state_exact"] if scored else None,
               "play_heldout_outside_envelope": scored["outside_envelope"] if scored else 0}
        for suite in ("iid", "edge"):
            row[suite] = evaluate(res, held_out(suite, n, rules), rules)["state_exact"]
        out[name] = row
    return out


def compare_table(result: dict) -> str:
    lines = ["| model | play held-out | iid | edge |", "|---|---|---|---|"]
    for name in ("before", "after"):
        r = result[name]
        play = "n/a" if r["play_heldout"] is None else f"{r['play_heldout']:.2%}"
        lines.append(f"| {name} | {play} | {r['iid']:.2%} | {r['edge']:.2%} |")
    lines.append(f"\nplay held-out slice: {result['play_heldout_n']} turns")
    return "\n".join(lines)


# ------------------------------------------------------------------ the `rpg-brain finetune` stage

def add_arguments(ft: argparse.ArgumentParser) -> None:
    ft.add_argument("--from", dest="from_", type=Path, default=shipped_model_dir())
    ft.add_argument("--data", type=Path, required=True, help="play data written by `rpg-brain ingest` (token shards)")
    ft.add_argument("--out", type=Path, required=True)
    ft.add_argument("--steps", type=int, default=400)
    ft.add_argument("--lr", type=float, default=FinetuneConfig.lr)
    ft.add_argument("--threads", type=int, default=1, help="torch CPU threads (two stall on a shared machine)")
    ft.add_argument("--n", type=int, default=2000, help="held-out cases per standard suite for the comparison")
    ft.add_argument("--report", type=Path, default=None, help="markdown comparison (default OUT/finetune.md)")


def run(args: argparse.Namespace) -> int:
    from game.content import load_ruleset

    rules = load_ruleset(args.content)
    info = finetune(args.from_, args.data, args.out, rules, FinetuneConfig(steps=args.steps, lr=args.lr,
                                                                           threads=args.threads))
    result = compare(args.from_, args.out, args.data, rules, n=args.n)
    report = args.report or args.out / "finetune.md"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(f"# Fine-tune: {args.from_} -> {args.out}\n\nData: {args.data} "
                      f"({info['play_rows']} play rows, mixed half and half with fresh synthetic data), "
                      f"{args.steps} steps.\n\nNext-state exact match, before and after:\n\n"
                      f"{compare_table(result)}\n")
    (report.with_suffix(".json")).write_text(json.dumps({"finetune": info, "compare": result}, indent=1) + "\n")
    print(compare_table(result))
    print(f"report: {report}", file=sys.stderr)
    return 0
