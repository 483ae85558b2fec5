"""Does the int8 form answer exactly like the fp32 model? (issue 12: int8 ships too only if it does)

    PYTHONPATH=. python scripts/int8_identity.py --model brain/models/default --n 2000

Writes the int8 form (brain/export.py, per-row symmetric) to --out, then resolves the same held-out iid and
edge turns with both, one turn at a time through the game's path, and counts the answers that differ.
Prints one JSON line; exit 1 when any answer differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from brain.engine import ModelResolver
from brain.export import differing, write_form
from brain.suites import held_out
from game.content import load_ruleset


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=Path("brain/models/default"))
    ap.add_argument("--out", type=Path, default=Path("brain/runs/forms/int8"))
    ap.add_argument("--n", type=int, default=2000)
    args = ap.parse_args()
    rules = load_ruleset()
    write_form(args.model, args.out, "int8", rules)
    fp32, int8 = ModelResolver.load(args.model, rules), ModelResolver.load(args.out, rules)
    result: dict = {"model": str(args.model), "int8": str(args.out), "n": args.n}
    for suite in ("iid", "edge"):
        diff = differing(fp32, int8, held_out(suite, args.n, rules))
        result[suite] = {"different": len(diff), "first": diff[:5]}
    result["bytes"] = {"fp32": (args.model / "model.safetensors").stat().st_size,
                       "int8": (args.out / "model.safetensors").stat().st_size}
    print(json.dumps(result))
    return 1 if any(result[s]["different"] for s in ("iid", "edge")) else 0


if __name__ == "__main__":
    sys.exit(main())
