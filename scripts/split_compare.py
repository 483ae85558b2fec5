"""Three ways to split the turns among experts, measured side by side (issue 25: "try another split").

    PYTHONPATH=. python scripts/split_compare.py --model /work/runs/H16 [--model brain/models/default] \
        --n 6000 --seed 558001 [--dep-n 1000] [--out brain/reports/splits.json]

The splits: by action family (the router that ships, brain/experts.ROUTES), by phase (before the fatigue turn,
and from it on: fatigue is the one rule a late turn adds) and by how crowded the board is (at most four status
channels active on both combatants together, or five and more). For each route of each split:

- its share of the held-out wide and iid turns (the same turns partitioned three ways);
- each --model's exact match on the route's turns: which route is hard, the evidence for sizing its expert
  (a model part-way through training shows it best; a converged one is near 100% everywhere);
- the rule constants its answers depend on, measured as brain/experts.dependencies measures the shipped routes.

From those, per split: the share of turns a change of burn_magnitude and of crit_bonus makes stale (the routes
depending on it: what a retrain must cover), and the spread of difficulty between its routes (what lets one
route have a smaller expert). Writes --out and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from brain.engine import ModelResolver
from brain.experts import ROUTES, dependencies
from brain.suites import held_out
from brain.suites.score import evaluate
from game.combat.envelope import Case
from game.combat.ruleset import Ruleset
from game.combat.state import ACTIONS
from game.content import load_ruleset

CHANGES = ("burn_magnitude", "crit_bonus")
Keep = Callable[[Case], bool]
QUIET = 4  # status channels active on both combatants together: the iid median is 3, the wide one 7


def splits(rules: Ruleset) -> dict[str, dict[str, tuple[tuple[str, ...], Keep | None]]]:
    """Split name -> route -> (its actions, and a filter on the case for splits not by action)."""
    fatigue = rules.fatigue_turn

    def crowd(case: Case) -> int:
        return len(case[0].actor.active()) + len(case[0].target.active())

    return {
        "action": {name: (acts, None) for name, acts in ROUTES.items()},
        "phase": {"early": (ACTIONS, lambda c: c[0].turn < fatigue), "late": (ACTIONS, lambda c: c[0].turn >= fatigue)},
        "crowd": {"quiet": (ACTIONS, lambda c: crowd(c) <= QUIET), "crowded": (ACTIONS, lambda c: crowd(c) > QUIET)},
    }


def member(case: Case, actions: tuple[str, ...], keep: Keep | None) -> bool:
    return case[1] in actions and (keep is None or keep(case))


def spread(rates: list[float | None]) -> float | None:
    """Best route's exact match less the worst's (None when a route drew no turn)."""
    return None if None in rates else max(rates) - min(rates)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, action="append", required=True, help="a model directory (repeatable)")
    p.add_argument("--n", type=int, default=6000, help="held-out turns per suite (wide, iid)")
    p.add_argument("--seed", type=int, default=558001, help="seed of the held-out turns")
    p.add_argument("--dep-n", type=int, default=1000, help="sampled blocks per route when measuring its constants")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--content", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path("brain/reports/splits.json"))
    args = p.parse_args(argv)

    rules = load_ruleset(args.content)
    cases = {s: held_out(s, args.n, rules, seed=args.seed) for s in ("wide", "iid")}
    models = {str(m): ModelResolver.load(m, rules, threads=args.threads, allow_stale=True) for m in args.model}
    result: dict = {"command": "scripts/split_compare.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                    "n": args.n, "seed": args.seed, "splits": {}}
    for split, routes in splits(rules).items():
        rows = {}
        for route, (actions, keep) in routes.items():
            row: dict = {"constants": dependencies(actions, rules, n=args.dep_n, keep=keep)}
            for suite, pool in cases.items():
                mine = [c for c in pool if member(c, actions, keep)]
                row[suite] = {"share": len(mine) / len(pool), "exact": {
                    name: evaluate(m, mine, rules)["exact"] if mine else None for name, m in models.items()}}
            rows[route] = row
            print(f"{split}/{route}: {json.dumps(row)}", file=sys.stderr, flush=True)
        summary = {f"{c}_stale_share": {s: sum(r[s]["share"] for r in rows.values() if c in r["constants"])
                                        for s in cases} for c in CHANGES}
        summary["difficulty_spread"] = {s: {name: spread([r[s]["exact"][name] for r in rows.values()])
                                            for name in models} for s in cases}
        result["splits"][split] = {"routes": rows, **summary}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for split, d in result["splits"].items():
        print(f"\n{split}: burn_magnitude stales {d['burn_magnitude_stale_share']['wide']:.0%} of wide turns, "
              f"crit_bonus {d['crit_bonus_stale_share']['wide']:.0%}")
        print("| route | wide share | " + " | ".join(f"wide exact {Path(m).name}" for m in models)
              + " | constants |\n|---|---|" + "---|" * len(models) + "---|")
        for route, r in d["routes"].items():
            rates = " | ".join("n/a" if (v := r["wide"]["exact"][m]) is None else f"{v:.2%}" for m in models)
            print(f"| {route} | {r['wide']['share']:.1%} | {rates} | {len(r['constants'])} |")
    print(f"written: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
