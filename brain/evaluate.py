"""`rpg-brain eval`: how often a model writes exactly what the rules write, on the suites of brain/suites/.

Held-out suites (iid, edge, wide, crowded, long) are drawn with an evaluation seed no training run uses, only
blocks whose split hash is 'test' kept, so no evaluated block was ever trained on; they are scored by
brain/suites/score.py, as the failure-first suites are (brain/failures.py runs those).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from brain.checkpoint import read_config, write_json
from brain.suites import EVAL_SEED, SUITES, held_out
from brain.suites.score import evaluate, pooled, summary_table

# ------------------------------------------------------------------ the `rpg-brain eval` stage

def add_arguments(e: argparse.ArgumentParser) -> None:
    e.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    e.add_argument("--allow-stale", action="store_true", help="load a stale model anyway (its answers are marked)")
    e.add_argument("--resolver", choices=("model", "experts"), default="model")
    e.add_argument("--experts", type=Path, default=None,
                   help="experts directory for --resolver experts (default: brain/models/experts)")
    e.add_argument("--suite", nargs="+", default=["iid"],
                   help="suites: iid edge wide crowded long (held-out tables), perturb order ood probe chain, or all "
                        "(every suite and the failure metrics; docs/evaluation.md)")
    e.add_argument("--no-raw", action="store_true", help="skip the slow ungated, unconstrained perturb pass")
    e.add_argument("--n", type=int, default=2000)
    e.add_argument("--seed", type=int, default=EVAL_SEED, help="evaluation seed (never a training seed); every "
                   "suite draws from it")
    e.add_argument("--seeds", type=int, default=1, help="held-out suites: this many seeds from --seed on, pooled "
                   "with a 95%% interval (n per seed)")
    e.add_argument("--json", action="store_true")
    e.add_argument("--record", type=Path, default=None,
                   help="held-out suites of one model: also write FILE, the figures with the command, the model's "
                        "step and its weights' sha256 (the eval.json a carried run keeps, brain/checkpoints/)")
    e.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a shared machine)")
    e.add_argument("--draft", choices=("rules", "copy", "none"), default="rules",
                   help="what each model call verifies (brain/draft.py); the answers are the same, rules is fastest")


def run(args: argparse.Namespace) -> int:
    """Held-out suites only: their summary table (or JSON). Any failure-first suite or `all`: brain.failures."""
    from brain.experts import load_learned
    from game.content import load_ruleset

    known = (*SUITES, "all")
    unknown = [s for s in args.suite if s not in known]
    if unknown:
        raise ValueError(f"unknown suite {unknown[0]!r}; expected one of {', '.join(known)}")
    held_out_only = "all" not in args.suite and all(SUITES[s].draw is not None for s in args.suite)
    if args.record is not None and (args.resolver != "model" or not held_out_only):
        raise ValueError("--record: one model (--resolver model) on held-out suites only "
                         f"({', '.join(s for s in SUITES if SUITES[s].draw is not None)})")
    rules = load_ruleset(args.content)
    resolver = load_learned(args.resolver, args.experts if args.resolver == "experts" else args.model, rules,
                            draft=args.draft, threads=args.threads, allow_stale=args.allow_stale)
    if not held_out_only:
        from brain.failures import all_table, raw_answers, run_all, ungated_answers

        raw = None if args.no_raw else (lambda blocks: raw_answers(resolver, blocks))
        result = run_all(resolver, rules, n=args.n, ungated_answer=lambda blocks: ungated_answers(resolver, blocks),
                         raw_answer=raw, suites=None if "all" in args.suite else args.suite, seed=args.seed)
        table = "all" in args.suite and not args.json
        print(all_table(result) if table else json.dumps(result, indent=1))
        return 0
    seeds = range(args.seed, args.seed + max(1, args.seeds))
    results = {suite: pooled([evaluate(resolver, held_out(suite, args.n, rules, seed), rules) | {"seed": seed}
                              for seed in seeds]) if args.seeds > 1
               else evaluate(resolver, held_out(suite, args.n, rules, args.seed), rules) for suite in args.suite}
    if args.record is not None:
        write_json(args.record, record(args, results))
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[args.suite[0]], indent=1))
    else:
        print(summary_table(results))
    return 0


def record(args: argparse.Namespace, results: dict) -> dict:
    """The figures tied to the weights that made them: a test (tests/test_brain_carried_run.py) can then tell
    figures measured on other weights, and the command says how to measure them again."""
    from brain.paths import shipped_model_dir

    model = args.model or shipped_model_dir()
    config = read_config(model)
    command = (f"rpg-brain eval --model {model} --suite {' '.join(args.suite)} --n {args.n} "
               f"--seed {args.seed}" + (f" --seeds {args.seeds}" if args.seeds > 1 else ""))
    return {"command": command, "step": config.get("train", {}).get("step"),
            "weights_sha256": config["weights_sha256"], "suites": results}
