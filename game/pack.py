"""The pack: equal items stack under one letter, and a stack keeps its letter for as long as it lasts (as in
DCSS), so `a` is the same potion before and after the scroll under `b` is read.

The player's `inventory` is the list of item names (one entry per item); `letters` maps each name in it to its
letter. Letters are (re)assigned here only: a name without one gets the first free letter, a letter whose
stack is gone is freed. Anything that changes the inventory (pick up, use, drop, armour taken off, a test that
sets the list) is seen the next time the pack is read.
"""

from __future__ import annotations

from game.entities import Player

INVENTORY_LIMIT = 10  # stacks: one letter each
LETTERS = "abcdefghij"[:INVENTORY_LIMIT]


def stacks(p: Player) -> list[tuple[str, str, int]]:
    """The pack as (letter, item name, count), in letter order; letters kept, new stacks given the first free one."""
    counts: dict[str, int] = {}
    for name in p.inventory:
        counts[name] = counts.get(name, 0) + 1
    letters = {name: ch for name, ch in p.letters.items() if name in counts and ch in LETTERS}
    taken = set()
    for name, ch in list(letters.items()):  # a letter claimed twice (a hand-made save) keeps its first owner
        if ch in taken:
            del letters[name]
        taken.add(ch)
    free = [ch for ch in LETTERS if ch not in taken]
    for name in counts:
        if name not in letters and free:
            letters[name] = free.pop(0)
    p.letters = letters
    return sorted(((ch, name, counts[name]) for name, ch in letters.items()), key=lambda t: t[0])


def at(p: Player, index: int) -> str | None:
    """The item name under letter number `index` (0 is a), or None when that letter holds nothing."""
    if not 0 <= index < len(LETTERS):
        return None
    return next((name for ch, name, _ in stacks(p) if ch == LETTERS[index]), None)


def has_room(p: Player, name: str) -> bool:
    """Whether `name` can go in the pack: its stack is there, or a letter is free."""
    return name in p.inventory or len(stacks(p)) < INVENTORY_LIMIT


def kinds(p: Player) -> int:
    return len(stacks(p))
