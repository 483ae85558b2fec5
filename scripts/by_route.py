"""Exact match per expert route, from `rpg-brain eval --json` on one suite: which action families a model learns
first, the evidence for sizing experts per family (docs/brain.md, "Sweeps").

    rpg-brain eval --model RUN --suite wide --n 3000 --seed 552001 --json | python scripts/by_route.py
"""

from __future__ import annotations

import json
import sys

from brain.experts import ROUTES


def by_route(result: dict) -> dict[str, dict]:
    """The suite's `by_action` pooled per route: n and exact (None where the route drew no case)."""
    rows = {}
    for route, actions in ROUTES.items():
        cells = [result["by_action"][a] for a in actions if a in result["by_action"]]
        n = sum(c["n"] for c in cells)
        rows[route] = {"n": n, "exact": sum(c["exact"] * c["n"] for c in cells) / n if n else None}
    return rows | {"all": {"n": result["n"], "exact": result["exact"]}}


def main() -> int:
    try:
        result = json.load(sys.stdin)
        rows = by_route(result)
    except (ValueError, KeyError, TypeError) as exc:
        print(f"by_route: expected the JSON of `rpg-brain eval --suite ONE --json` on stdin ({exc!r})", file=sys.stderr)
        return 2
    for route, row in rows.items():
        exact = "n/a" if row["exact"] is None else f"{row['exact']:.2%}"
        print(f"{route:8} {row['n']:6} {exact}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
