"""Where a model's shield arithmetic breaks: one strike against a shielded target, over a grid.

    PYTHONPATH=. python scripts/probe_shield.py --model DIR [--turns 1]

The block is the arena's commonest divergence (a 5-point guard shield absorbing a 4-point hit); the grid moves
the attacker's power (so the damage reaching the shield: power + roll 4 - armor 3) and the target's shield
magnitude. `.` the model's answer equals the rules', `X` it does not. Prints the grid, the count and one wrong
answer beside the rules' answer.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from brain.engine import ModelResolver
from game.combat.format import parse_input
from game.combat.judge import RulesResolver
from game.content import load_ruleset

BLOCK = "t17 A hp07/16 pw{pw:02d} ar00 cd000000 B hp25/48 pw07 ar03 cd120000 sh{sh:02d}:{turns} do attack r4"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    p.add_argument("--turns", type=int, default=1, help="the shield's turns left (1..4 inside the training ranges)")
    args = p.parse_args(argv)
    rules = load_ruleset(None)
    model, truth = ModelResolver.load(args.model, rules), RulesResolver(rules)
    print("damage  " + "".join(str(pw + 1)[-1] for pw in range(1, 10)))
    wrong = []
    for sh in range(1, 13):
        row = ""
        for pw in range(1, 10):
            case = parse_input(BLOCK.format(pw=pw, sh=sh, turns=args.turns))
            got, want = model.resolve_batch([case])[0].raw, truth.resolve_batch([case])[0].raw
            row += "." if got == want else "X"
            if got != want:
                wrong.append((case, got, want))
        print(f"sh{sh:02d}    {row}")
    print(f"{len(wrong)} of 108 wrong")
    if wrong:
        print(f"e.g. model: {wrong[0][1]}\n     rules: {wrong[0][2]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
