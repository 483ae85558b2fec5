"""How often a model gets the regen tick wrong, capped (max hp reached) against uncapped.

    rpg-brain sample --suite boundary --n 1000 --seed 881001 > IN
    rpg-brain resolve --derivation < IN > RULES
    rpg-brain resolve --derivation --resolver model --model RUN < IN > MODEL
    python scripts/regen_cap_errors.py IN RULES MODEL

A tick is capped when it brings the actor to its max hp (the heal is `max hp - hp`, not the regen's
magnitude, which may not even be in the input: a heal grants regen that ticks the same turn). For each kind:
how many turns tick, how many of those the model writes wrong (amount or result), and the size of the miss
in the amount ("off by 0": the amount right, the hp after it wrong; "none": no tick written). Where the format
writes a `headroom` step before the tick (format 2, and the 2b experiment before it) it is judged too, and a tick
wrong after a right headroom is counted apart: a copy the model did not make. Lines the model did not answer
(`error: ...`) count as wrong. The answers are read as text, not with game.combat.format's parser, so that
answers written in another format (format 1's, from a model in git history) are judged by the same script.
"""

from __future__ import annotations

import re
import sys
from collections import Counter

TICK = re.compile(r"regen_tick(\d\d)>(\d\d)")
HEADROOM = re.compile(r"headroom(\d\d)>(\d\d)")
ACTOR_MAX_HP = re.compile(r" A hp\d\d/(\d\d)")


def first(pattern: re.Pattern[str], text: str) -> tuple[int, int] | None:
    m = pattern.search(text.split(" | ")[0])
    return (int(m.group(1)), int(m.group(2))) if m else None


def main(inputs: str, rules: str, model: str) -> None:
    rows = zip(*(open(p, encoding="utf-8").read().splitlines() for p in (inputs, rules, model)), strict=True)
    ticks: Counter[str] = Counter()
    wrong: Counter[str] = Counter()
    miss: Counter[tuple[str, int]] = Counter()
    after_right_headroom: Counter[str] = Counter()
    headroom_wrong = 0
    headrooms = False
    for block, want, got in rows:
        tick = first(TICK, want)
        if tick is None:
            continue
        max_hp = ACTOR_MAX_HP.search(block)
        kind = "capped" if max_hp and tick[1] == int(max_hp.group(1)) else "uncapped"
        ticks[kind] += 1
        answered = not got.startswith("error:")
        got_tick = first(TICK, got) if answered else None
        want_room = first(HEADROOM, want)
        headrooms |= want_room is not None
        room_right = want_room is not None and answered and first(HEADROOM, got) == want_room
        if want_room is not None and not room_right:
            headroom_wrong += 1
        if got_tick != tick:
            wrong[kind] += 1
            miss[kind, abs(got_tick[0] - tick[0]) if got_tick else -1] += 1
            if room_right:
                after_right_headroom[kind] += 1
    for kind in ("capped", "uncapped"):
        n, w = ticks[kind], wrong[kind]
        sizes = ", ".join(f"{'none' if d < 0 else f'off by {d}'}: {c}"
                          for (k, d), c in sorted(miss.items()) if k == kind)
        print(f"{kind:9s} ticks {n:5d}  wrong {w:4d} ({100 * w / max(n, 1):.1f}%)  [{sizes}]"
              + (f"  wrong after a right headroom: {after_right_headroom[kind]}" if headrooms else ""))
    if headrooms:
        print(f"headroom steps wrong: {headroom_wrong}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
