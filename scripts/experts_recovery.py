"""Recovery after a one-constant rule change: the stale experts retrained versus the single model fine-tuned.

    PYTHONPATH=. python scripts/experts_recovery.py --experts DIR --model DIR --out /tmp/recovery \
        [--constant burn_magnitude --delta 1] [--target 0.999] [--chunk 200 --max-steps 4000] [--gen-n 200000]
    PYTHONPATH=. python scripts/experts_recovery.py --model DIR --experts-from-model STEPS --out /tmp/recovery ...

Both sides start from weights trained under the current content (content/rules.toml). The constant is moved
(default burn_magnitude + 1), token shards of the changed rules are generated once (same data engine for both),
and then, chunk by chunk of optimizer steps, each side trains from its own weights and is evaluated on the
held-out iid, edge and wide suites of the changed rules until it reaches its target or the step budget is spent.
The target is --target on iid, edge and wide, or with --slack S each side's own accuracy before the change, suite by
suite, less S ("back to where it was": the fair goal when the two sides start at different accuracies).
The experts side trains only the experts the manifest says are stale (each on its route's share of the
shards); the single model trains on all of it. Compute is counted as steps x batch (examples),
tokens fed (padding included, as brain/train.py counts them) and training wall time. Writes OUT/recovery.json
and prints a table. Each chunk is a training run of its own (warmup, then cosine decay to 5% of --lr), the same
for both sides. --boundary/--long/--narrow give the changed rules' shards the redraw shares of the model's own
training mix (as `rpg-brain gen` takes them); without them a fine-tune on wide draws alone drifts off the narrow
draws of the iid suite and the long blocks of the wide one. --experts-from-model 0 starts the experts as copies
of the single model, so both sides start converged and of one size, and the recovery measures the split alone.
Without --experts/--model it first trains both at the --bootstrap-steps budget on shards of the current rules
(only to prove the harness runs: such models are far below any target).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

from brain.checkpoint import CONFIG, WEIGHTS
from brain.data import Mix
from brain.engine import ModelResolver
from brain.experts import ROUTES, ExpertsResolver, read_manifest, stale_experts
from brain.onnxform import ONNX_FILE
from brain.shards import generate
from brain.suites import EVAL_SEED, held_out
from brain.suites.score import evaluate
from brain.train import TrainConfig, record_expert, train, train_expert
from game.content import load_ruleset, validate_ruleset

SUITES = ("iid", "edge", "wide")


def params_of(model_dir: Path, rules) -> int:
    """Parameters of a model directory's weights (what 6 x params x tokens counts as training FLOPs)."""
    return ModelResolver.load(model_dir, rules, check_ruleset=False, allow_stale=True).num_params()


def accuracy(resolver, rules, n: int, seed: int = EVAL_SEED) -> dict:
    return {s: evaluate(resolver, held_out(s, n, rules, seed=seed), rules)["exact"] for s in SUITES}


def bootstrap(out: Path, rules, tc: TrainConfig, gen_n: int, dep_n: int) -> tuple[Path, Path]:
    data = out / "base_data"
    generate(data, gen_n, 1, rules, Mix(), shard_size=gen_n, workers=1)
    single = out / "base_single"
    train(replace(tc, data=str(data)), single, rules, quiet=True)
    experts = out / "base_experts"
    for name in ROUTES:
        train_expert(name, data, experts, rules, tc, dep_n=dep_n, quiet=True)
    return experts, single


def experts_from_model(model: Path, out: Path, rules, tc: TrainConfig, steps: int, gen_n: int,
                       dep_n: int) -> Path:
    """Experts that start where the single model is: each a copy of its weights (steps 0), or that copy trained
    `steps` more on its route's share of shards of the current rules. With steps 0 both sides start converged,
    at the same accuracy and of one size, so what the recovery measures is the cost of the split alone (only
    the stale routes retrain)."""
    experts = out / "base_experts"
    if steps > 0:
        data = out / "base_data"
        generate(data, gen_n, 3, rules, Mix(), shard_size=min(gen_n, 50_000), workers=1)
        for name in ROUTES:
            train_expert(name, data, experts, rules, replace(tc, steps=steps, init=str(model)), dep_n=dep_n,
                         quiet=True)
        return experts
    shutil.rmtree(experts, ignore_errors=True)
    for name in ROUTES:
        (experts / name).mkdir(parents=True)
        for f in (CONFIG, WEIGHTS, ONNX_FILE):
            if (model / f).exists():
                shutil.copy2(model / f, experts / name / f)
        record_expert(experts, name, name, rules, {"steps": 0, "batch_size": tc.batch_size, "examples": 0,
                                                   "tokens": 0, "seconds": 0.0, "val_exact": None,
                                                   "adapted": False, "copied_from": str(model)}, dep_n)
    return experts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experts", type=Path, help="experts directory trained under the current content")
    p.add_argument("--model", type=Path, help="single model directory trained under the current content")
    p.add_argument("--content", type=Path, default=None)
    p.add_argument("--constant", default="burn_magnitude")
    p.add_argument("--delta", type=int, default=1)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--gen-n", type=int, default=200_000, help="draws of the changed rules' shards")
    p.add_argument("--target", type=float, default=0.999, help="exact match on each of iid, edge and wide")
    p.add_argument("--slack", type=float, default=None,
                   help="instead of --target: each side's own pre-change accuracy per suite, less this")
    p.add_argument("--chunk", type=int, default=200, help="steps between evaluations")
    p.add_argument("--max-steps", type=int, default=4000, help="step budget of each side")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--eval-n", type=int, default=1000)
    p.add_argument("--dep-n", type=int, default=2000, help="blocks per route when re-measuring the constants")
    p.add_argument("--bootstrap-steps", type=int, default=20, help="without --experts/--model: train both this long")
    p.add_argument("--experts-from-model", type=int, metavar="STEPS", default=None,
                   help="instead of --experts: each expert a copy of --model (STEPS 0), or that copy trained "
                        "STEPS more on its route")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--boundary", type=float, default=0.0, help="the changed rules' shards: Mix.boundary (gen's flag)")
    p.add_argument("--long", type=float, default=0.0, help="the changed rules' shards: Mix.long")
    p.add_argument("--narrow", type=float, default=0.0, help="the changed rules' shards: Mix.narrow")
    p.add_argument("--seed", type=int, default=TrainConfig.seed, help="training seed (the order of the batches)")
    p.add_argument("--eval-seed", type=int, default=EVAL_SEED, help="seed of the held-out suites")
    args = p.parse_args(argv)

    rules = load_ruleset(args.content)
    changed = validate_ruleset(replace(rules, **{args.constant: getattr(rules, args.constant) + args.delta}))
    args.out.mkdir(parents=True, exist_ok=True)
    tc = TrainConfig(depth=1, batch_size=args.batch_size, lr=args.lr, warmup=min(50, args.chunk // 4),
                     workers=0, threads=args.threads, val_n=16, val_loss_n=64, log_every=max(1, args.chunk),
                     eval_every=10**9, ckpt_every=10**9, seed=args.seed)
    if args.experts_from_model is not None and args.model is not None:
        args.experts = experts_from_model(args.model, args.out, rules, replace(tc, steps=args.experts_from_model),
                                          args.experts_from_model, max(2000, args.gen_n // 4), args.dep_n)
    if args.experts is None or args.model is None:
        args.experts, args.model = bootstrap(args.out, rules, replace(tc, steps=args.bootstrap_steps),
                                             max(2000, args.gen_n), args.dep_n)
    experts, single = args.out / "experts", args.out / "single"
    for src, dst in ((args.experts, experts), (args.model, single)):
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst)
    stale = stale_experts(read_manifest(experts), changed)
    before = {"experts": accuracy(ExpertsResolver.load(args.experts, rules), rules, args.eval_n, args.eval_seed),
              "single": accuracy(ModelResolver.load(args.model, rules), rules, args.eval_n, args.eval_seed)}
    data = args.out / "changed_data"
    t = time.time()
    mix = Mix(boundary=args.boundary, long=args.long, narrow=args.narrow)
    generate(data, args.gen_n, 2, changed, mix, shard_size=min(args.gen_n, 50_000), workers=1)
    gen_s = time.time() - t

    manifest = read_manifest(experts)
    params = {n: params_of(experts / manifest.experts[n].model_dir, rules) for n in stale} | {
        "single": params_of(single, rules)}

    def run_experts(steps: int) -> dict:
        done = {n: train_expert(n, data, experts, changed, replace(tc, steps=steps), adapt=True, dep_n=args.dep_n,
                                quiet=True) for n in stale}
        return {"examples": sum(e.trained["examples"] for e in done.values()),
                "tokens": sum(e.trained["tokens"] for e in done.values()),
                "flops": sum(6 * params[n] * e.trained["tokens"] for n, e in done.items()),
                "seconds": sum(e.trained["seconds"] for e in done.values())}

    def run_single(steps: int) -> dict:
        t = time.time()
        row = train(replace(tc, steps=steps, data=str(data), init=str(single), adapt=True), single, changed,
                    quiet=True)
        return {"examples": row["examples"], "tokens": row["tokens"], "flops": 6 * params["single"] * row["tokens"],
                "seconds": round(time.time() - t, 2)}

    sides = {"experts": (run_experts, lambda: ExpertsResolver.load(experts, changed)),
             "single": (run_single, lambda: ModelResolver.load(single, changed, check_ruleset=False))}
    result: dict = {"command": " ".join(["scripts/experts_recovery.py", *(argv if argv is not None else sys.argv[1:])]),
                    "constant": args.constant, "from": getattr(rules, args.constant),
                    "to": getattr(changed, args.constant), "stale_experts": list(stale), "target": args.target,
                    "slack": args.slack, "mix": mix.recorded(), "eval_n": args.eval_n, "eval_seed": args.eval_seed,
                    "seed": args.seed,
                    "before_change": before, "gen_changed_s": round(gen_s, 1), "sides": {}}
    for side, (step_fn, load) in sides.items():
        goal = ({s: before[side][s] - args.slack for s in SUITES} if args.slack is not None
                else dict.fromkeys(SUITES, args.target))
        there = lambda acc, goal=goal: acc["iid"] is not None and all(acc[s] >= goal[s] for s in goal)
        curve, total = [], {"steps": 0, "examples": 0, "tokens": 0, "flops": 0, "seconds": 0.0}
        acc = accuracy(load(), changed, args.eval_n, args.eval_seed) if side == "single" or not stale else None
        if side == "experts" and stale:  # the stale experts refuse to load until retrained: 0 by definition
            acc = dict.fromkeys(SUITES)
        curve.append({**total, **acc})
        while total["steps"] < args.max_steps and not there(acc):
            spent = step_fn(args.chunk)
            total = {"steps": total["steps"] + args.chunk, **{k: total[k] + spent[k] for k in spent}}
            acc = accuracy(load(), changed, args.eval_n, args.eval_seed)
            curve.append({**total, **acc})
            print(f"{side}: {total['steps']} steps, {total['examples']} examples, {total['seconds']:.1f} s: "
                  + " ".join(f"{s} {acc[s]:.4f}" for s in SUITES), file=sys.stderr, flush=True)
        reached = there(acc)
        result["sides"][side] = {"goal": goal, "curve": curve, "reached": reached,
                                 "to_target": total if reached else None}
    e, s = result["sides"]["experts"]["to_target"], result["sides"]["single"]["to_target"]
    for k in ("examples", "flops"):
        result[f"experts_over_single_{k}"] = e[k] / s[k] if e and s and s[k] else None
    result["params"] = params
    (args.out / "recovery.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"{args.constant} {result['from']} -> {result['to']}; stale experts: {', '.join(stale) or 'none'}")
    print("| side | reached | steps | examples | tokens | train s | " + " | ".join(SUITES) + " |\n|---"
          + "|---" * (5 + len(SUITES)) + "|")
    for side, r in result["sides"].items():
        last = r["curve"][-1]
        print(f"| {side} | {r['reached']} | {last['steps']} | {last['examples']} | {last['tokens']} | "
              f"{last['seconds']:.1f} | " + " | ".join(str(last[s]) for s in SUITES) + " |")
    print(f"written: {args.out / 'recovery.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
