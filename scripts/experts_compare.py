"""Experts versus the single model, side by side on the same seeds and suites (issue 16).

    PYTHONPATH=. python scripts/experts_compare.py --model brain/models/default --experts brain/models/experts \
        [--n 2000] [--seed S] [--failure-n 1000] [--arena-turns 24000] [--arena-seeds 2 3] \
        [--recovery REC1/recovery.json REC2/recovery.json] [--out brain/reports/experts.json]

For each side: held-out exact match on iid, edge and wide (the same blocks), the failure-first suites
(brain/failures.run_all, same seed), arena divergences per 1,000 combat turns (same game seeds; each side plays
its own fights, since the answers steer the games), parameters and bytes (fp32, int8 one byte a parameter), batch-1
p50/p95 on the game path, and the training compute behind the weights (examples and wall time, every phase
followed through `init`, as recorded in the run configs). With --recovery, the one-constant-change results of
scripts/experts_recovery.py are carried into the JSON. `rpg-brain report` renders the JSON as its "Experts"
section (brain/lab_report.experts_section).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from brain.arena import run_arena
from brain.bench import bench_resolver
from brain.checkpoint import CONFIG, LOG
from brain.engine import ModelResolver
from brain.experts import ExpertsResolver, read_manifest
from brain.failures import run_all
from brain.suites import EVAL_SEED, held_out
from brain.suites.score import evaluate
from game.content import load_content

SUITES = ("iid", "edge", "wide")


def compute(model_dir: Path) -> dict:
    """Examples and wall time of every training phase behind a model directory (following `init`)."""
    phases, seen = [], set()
    here: Path | None = Path(model_dir)
    while here is not None and here.resolve() not in seen and (here / CONFIG).exists():
        seen.add(here.resolve())
        train = json.loads((here / CONFIG).read_text()).get("train", {})
        last = train.get("last") or _last_log_row(here)
        phases.append({"dir": str(here), "steps": train.get("step"), "examples": (last or {}).get("examples"),
                       "seconds": (last or {}).get("elapsed_s")})
        init = train.get("config", {}).get("init")
        here = Path(init) if init else None
    known = [p for p in phases if p["examples"] is not None]
    # an init that is not on this machine (a carried run's earlier phases): what is counted is a lower bound
    missing = str(here) if here is not None and not (here / CONFIG).exists() else None
    return {"phases": phases, "examples": sum(p["examples"] for p in known),
            "seconds": round(sum(p["seconds"] or 0 for p in known), 1),
            "complete": len(known) == len(phases) and missing is None, "missing": missing}


def _last_log_row(model_dir: Path) -> dict | None:
    log = model_dir / LOG
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []
    return rows[-1] if rows else None


def slim(result: dict) -> dict:
    keep = ("n", "exact", "state_exact", "derivation_exact", "parse_failures", "invariant_failures")
    return {k: result[k] for k in keep if k in result}


def measure(name: str, resolver, content, args) -> dict:
    rules = content.rules
    out: dict = {"held_out": {s: slim(evaluate(resolver, held_out(s, args.n, rules, seed=args.seed), rules))
                              for s in SUITES}}
    print(f"{name}: held-out {json.dumps(out['held_out'])}", file=sys.stderr, flush=True)
    f = run_all(resolver, rules, n=args.failure_n)
    out["failures"] = {
        "wide_state_exact": f["wide"]["state_exact"], "ood_silent": f["ood"]["silent"],
        "probe_silent": f["probe"]["silent"], "order_state_exact": f["order"]["state_exact"],
        "order_reversed_exact": f["order"]["status_reversed_exact"],
        "perturb_rejected": f["perturb"]["gated_rejection_rate"],
        "chain_on_track": f["chain"]["on_track_share"], "chain_never_diverged": f["chain"]["runs_never_diverged"],
        "chain_runs": f["chain"]["runs"], "label_collapse": f["label_collapse"]["value"],
        "token_drift": f["token_drift"]["value"], "boundary_confusion": f["boundary_confusion"]["value"]}
    arenas = []
    for seed in args.arena_seeds:
        with tempfile.TemporaryDirectory() as tmp:
            a = run_arena(content, args.arena_turns, seed, name, Path(tmp), resolver, f"loaded ({name})",
                          progress=False)
        arenas.append({k: a[k] for k in ("combat_turns", "divergences", "fallbacks", "games_lost_to_crash")})
    combat = sum(a["combat_turns"] for a in arenas)
    out["arena"] = {"seeds": args.arena_seeds, "turns_per_seed": args.arena_turns, "runs": arenas,
                    "combat_turns": combat, "divergences": sum(a["divergences"] for a in arenas),
                    "per_1000": 1000 * sum(a["divergences"] for a in arenas) / max(combat, 1)}
    print(f"{name}: arena {json.dumps(out['arena'])}", file=sys.stderr, flush=True)
    params = resolver.num_params()
    out["size"] = {"params": params, "fp32_bytes": 4 * params, "int8_bytes": params}
    out["latency"] = bench_resolver(resolver, rules, args.latency_n)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True, help="the single model directory")
    p.add_argument("--experts", type=Path, required=True, help="the experts directory (experts.json)")
    p.add_argument("--content", type=Path, default=None)
    p.add_argument("--n", type=int, default=2000, help="held-out blocks per suite (iid, edge, wide)")
    p.add_argument("--seed", type=int, default=EVAL_SEED, help="seed of the held-out blocks (one never trained on)")
    p.add_argument("--failure-n", type=int, default=1000, help="n of the failure-first suites")
    p.add_argument("--arena-turns", type=int, default=24000, help="player turns per arena seed")
    p.add_argument("--arena-seeds", type=int, nargs="+", default=[2, 3])
    p.add_argument("--latency-n", type=int, default=300)
    p.add_argument("--recovery", type=Path, nargs="*", default=[],
                   help="recovery.json files of scripts/experts_recovery.py (one per rule change)")
    p.add_argument("--out", type=Path, default=Path("brain/reports/experts.json"))
    args = p.parse_args(argv)

    content = load_content(args.content)
    rules = content.rules
    single = ModelResolver.load(args.model, rules)
    experts = ExpertsResolver.load(args.experts, rules)
    manifest = read_manifest(args.experts)
    result = {
        "model": str(args.model), "experts": str(args.experts),
        "routes": {k: list(v) for k, v in manifest.router.routes.items()},
        "single": measure("model", single, content, args) | {"training": compute(args.model)},
        "composed": measure("experts", experts, content, args),
    }
    per_expert = {name: compute(args.experts / e.model_dir) | {"own": e.trained}
                  for name, e in manifest.experts.items()}
    result["composed"]["training"] = {"per_expert": per_expert,
                                      "own_examples": sum(e.trained.get("examples") or 0
                                                          for e in manifest.experts.values()),
                                      "own_seconds": round(sum(e.trained.get("seconds") or 0
                                                               for e in manifest.experts.values()), 1)}
    if args.recovery:
        result["recoveries"] = [json.loads(path.read_text()) for path in args.recovery]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    from brain.lab_report import experts_section

    print(experts_section(args.out.parent))
    print(f"written: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
