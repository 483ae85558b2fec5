"""Shipping a trained run as the game's model, and writing its report card.

`ship` copies the weights, config and training log of a run into a model
directory (no optimizer state), writes the ONNX step graph beside them when the
exporter is installed (brain/onnxexport.py), evaluates it on both held-out suites
and records the summary and the training data's description in config.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from brain.checkpoint import (
    CONFIG,
    LOG,
    WEIGHTS,
    ModelLoadError,
    load_model,
    model_envelope,
    read_config,
    stale_reason,
    write_json,
)
from brain.data import Mix, manifest_hash
from brain.paths import shipped_experts_dir, shipped_model_dir
from game.atomic import write_atomic
from game.combat.format import FORMAT_VERSION
from game.combat.ruleset import Ruleset

if TYPE_CHECKING:
    from brain.engine import ModelResolver

INIT_LOG = "train_log.phase1.jsonl"  # the run a second phase started from


def _data_manifest(config: dict, rules: Ruleset, sampler: str) -> dict:
    """What the model was trained on: token shards (`rpg-brain gen`, named by their manifest's hash) or the
    stream's recipe (its data is drawn, not stored); `sampler`, its envelope's."""
    train = config.get("train", {})
    tc = train.get("config", {})
    # shards carry their own mix (the run's edge and easy_keep only steer a stream); runs before data_mix: the recipe
    mix = train.get("data_mix") or Mix(tc.get("edge", 0.2), tc.get("easy_keep", 0.5), sampler).recorded()
    kind = {"kind": "shards", "data": tc["data"], "data_manifest": train.get("data_manifest")} if tc.get("data") \
        else {"kind": "stream"}
    return {**kind, "format_version": FORMAT_VERSION, "ruleset_id": rules.ruleset_id,
            "seed": tc.get("seed"), "mix": mix,
            "split": "sha1(input block) % 100: <90 train, <95 val, else test",
            "examples_seen": config.get("train", {}).get("step", 0) * tc.get("batch_size", 0)
            * config.get("train", {}).get("world", 1), "init": tc.get("init")}


def ship(run: Path, to: Path, rules: Ruleset, n: int = 2000, log=print) -> dict:
    from brain.engine import ModelResolver
    from brain.onnxexport import refresh_onnx
    from brain.suites import held_out
    from brain.suites.score import evaluate

    load_model(run, rules.ruleset_id)  # refuses a broken or foreign run before anything is copied
    config = read_config(run)
    envelope = model_envelope(config, run / CONFIG)
    stale = stale_reason(envelope, rules.ruleset_id)
    if stale:  # before anything is copied: a refused run must not replace the model that ships
        raise ModelLoadError(f"{run}: not shipped, the model is stale: {stale}")
    to.mkdir(parents=True, exist_ok=True)
    init = config.get("train", {}).get("config", {}).get("init")
    # a fine-tuned run (`rpg-brain finetune`) keeps its steps in config.json; its training curve is the run it
    # started from
    trained = run if (run / LOG).exists() else Path(config.get("finetune", {}).get("from", run))
    files = {WEIGHTS: run / WEIGHTS, LOG: trained / LOG, INIT_LOG: Path(init) / LOG if init else None}
    for name, src in files.items():
        if src is not None and src.exists():
            shutil.copyfile(src, to / (name + ".tmp"))
    for name in files:
        if (to / (name + ".tmp")).exists():
            (to / (name + ".tmp")).replace(to / name)
        elif (to / name).exists():  # the model shipped before left it: not this model's curve
            (to / name).unlink()
    config["train"].pop("last", None)
    manifest = _data_manifest(config, rules, envelope.sampler)
    config["data"] = manifest | {"manifest_hash": manifest_hash(manifest)}
    write_json(to / CONFIG, config)
    log(refresh_onnx(to))
    resolver = ModelResolver.load(to, rules)
    cases = {s: held_out(s, n, rules) for s in ("iid", "edge")}
    results = {s: evaluate(resolver, c, rules) for s, c in cases.items()}
    config["eval"] = {s: {k: r[k] for k in ("n", "exact", "state_exact", "derivation_exact", "field_accuracy",
                                            "parse_failures", "invariant_failures")} for s, r in results.items()}
    config["int8"] = ship_int8(to, resolver, [*cases["iid"], *cases["edge"]], rules, log)
    write_json(to / CONFIG, config)
    return config


def ship_int8(to: Path, fp32: ModelResolver, cases: list, rules: Ruleset, log=print) -> dict:
    """The int8 form beside the model (`<to>-int8/`, a quarter of the bytes), only if it answers every one of
    `cases` exactly as the fp32 model does; otherwise none (a stale one is removed) and the count says why."""
    from brain.engine import ModelResolver
    from brain.export import differing, write_form

    where = to.parent / f"{to.name}-int8"
    staging = to.parent / f".{to.name}-int8.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    int8 = ModelResolver.load(write_form(to, staging, "int8", rules), rules)
    different = len(differing(fp32, int8, cases))
    shutil.rmtree(where, ignore_errors=True)
    if different:
        shutil.rmtree(staging)
        log(f"int8 form not shipped: {different} of {len(cases)} held-out answers differ from fp32")
    else:
        staging.rename(where)
        log(f"int8 form shipped to {where}: the same answer on all {len(cases)} held-out turns")
    return {"dir": where.name, "n": len(cases), "different": different, "shipped": not different}


# ------------------------------------------------------------------ the `rpg-brain ship` stage

def ship_experts(src: Path, to: Path, rules: Ruleset, n: int = 2000, log=print) -> dict:
    """Copy a trained experts directory to `to`: per expert its weights, config and training log (not the
    optimizer state) with model.onnx written beside them, then the manifest last, with the held-out check the
    game reads (`measured`: next-state exact on iid, edge and wide; the game offers experts only at the target),
    so a copy cut short never loads as a whole. Refuses a broken or stale directory before anything is copied."""
    from brain.experts import MANIFEST, TARGET, TARGET_SUITES, ExpertsResolver, read_manifest, write_manifest
    from brain.onnxexport import refresh_onnx
    from brain.suites import held_out
    from brain.suites.score import evaluate

    ExpertsResolver.load(src, rules)
    manifest = read_manifest(src)
    (to / MANIFEST).unlink(missing_ok=True)
    for expert in manifest.experts.values():
        here, there = src / expert.model_dir, to / expert.model_dir
        there.mkdir(parents=True, exist_ok=True)
        for name in (CONFIG, WEIGHTS, LOG):
            if (here / name).exists():
                write_atomic(there / name, (here / name).read_bytes())
        log(refresh_onnx(there))
    resolver = ExpertsResolver.load(src, rules)
    exact = {s: evaluate(resolver, held_out(s, n, rules), rules)["state_exact"] for s in TARGET_SUITES}
    measured = {"exact": exact, "n": n, "target": TARGET}
    write_manifest(to, replace(manifest, measured=measured))  # last: a copy cut short never loads
    resolver = ExpertsResolver.load(to, rules)
    log(f"experts {'meet' if resolver.manifest.meets_target else 'are below'} the target {TARGET:.1%}: "
        + ", ".join(f"{s} {v:.2%}" for s, v in exact.items()))
    return {"experts": sorted(manifest.experts), "params": resolver.num_params(), "decoder": resolver.decoder,
            "measured": measured, "offered_in_play": resolver.manifest.meets_target}


def add_arguments(sh: argparse.ArgumentParser) -> None:
    sh.add_argument("run", type=Path, help="the training run directory, or an experts directory (experts.json)")
    sh.add_argument("--to", type=Path, default=None,
                    help="default: brain/models/default, or brain/models/experts for an experts directory")
    sh.add_argument("--n", type=int, default=2000, help="held-out cases per suite for the eval summary")
    sh.add_argument("--threads", type=int, default=1)


def run(args: argparse.Namespace) -> int:
    import torch

    from game.content import load_ruleset

    torch.set_num_threads(args.threads)
    if (args.run / "experts.json").exists():
        print(json.dumps(ship_experts(args.run, args.to or shipped_experts_dir(), load_ruleset(args.content),
                                      n=args.n)))
        return 0
    config = ship(args.run, args.to or shipped_model_dir(), load_ruleset(args.content), n=args.n)
    print(json.dumps(config["eval"], indent=1))
    return 0
