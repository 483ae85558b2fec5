"""The damage grid: one blow for every target hp 2..99 (max hp 99) and attacker power 1..39 at roll 5, the model's
answer against the rules'. A structured probe of the strike subtraction (hp - damage, borrows included) that the
sampled suites reach only by chance; docs/brain.md ("The shipped model") has its figures.

    PYTHONPATH=. python scripts/damage_grid.py [--model DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from game.combat.format import encode_answer, parse_input
from game.combat.rules import resolve
from game.content import load_content
from game.resolve import load_model_resolver


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    args = p.parse_args()
    rules = load_content().rules
    model = load_model_resolver(args.model, rules)
    wrong, n = [], 0
    for hp in range(2, 100):
        for power in range(1, 40):
            case = parse_input(f"t09 A hp29/29 pw{power:02d} ar44 cd000000 B hp{hp:02d}/99 pw04 ar00 cd100000 "
                               f"do attack r5")
            out = resolve(*case, rules)
            want = encode_answer(out.events, out.next_state)
            got = model.answer(case)
            n += 1
            if got != want:
                wrong.append(f"B hp{hp:02d} A pw{power:02d}: rules {want.split(' | ')[0]}, model {got.split(' | ')[0]}")
    print(f"{len(wrong)} wrong of {n}")
    print("\n".join(wrong))


if __name__ == "__main__":
    main()
