"""A scripted player: explores, fights with the special actions, uses items, descends.

Used to balance content, by the tests, and by the headless arena. It only
reads the session and returns a command (name, *args) for GameSession.command.
"""

from __future__ import annotations

import random
from collections import deque

from game.dungeon import STAIRS_DOWN
from game.session import DIRECTIONS, GameSession


def _step_towards(s: GameSession, goal_test) -> tuple[int, int] | None:
    """First step of a shortest walk over seen, walkable cells to a cell where goal_test holds."""
    lvl, start = s.level, (s.player.x, s.player.y)
    occupied = {(m.x, m.y) for m in s.floor.monsters if m.alive}
    prev: dict[tuple[int, int], tuple[int, int] | None] = {start: None}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        if cell != start and goal_test(cell):
            while prev[cell] != start:
                cell = prev[cell]
            return cell[0] - start[0], cell[1] - start[1]
        for dx, dy in DIRECTIONS.values():
            nxt = (cell[0] + dx, cell[1] + dy)
            if nxt in prev or nxt in occupied or not lvl.walkable(*nxt) or not lvl.seen[nxt[1]][nxt[0]]:
                continue
            prev[nxt] = cell
            queue.append(nxt)
    return None


def _item_index(s: GameSession, effect: str, want=None) -> int | None:
    for i, name in enumerate(s.player.inventory):
        spec = s.item_spec(name)
        if spec.effect == effect and (want is None or want(spec)):
            return i
    return None


class AutoPlayer:
    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def fight_action(self, s: GameSession) -> tuple:
        p, foe = s.player, s.foe()
        b, f = p.body, foe.body
        ready = {a for a in p.known if a == "wait" or a == "attack" or b.cooldown(a) == 0}
        hp_frac = b.hp / b.max_hp
        bad = [c for c in ("poison", "burn") if b.has(c)]
        if hp_frac < 0.3 and (i := _item_index(s, "restore_hp")) is not None:
            return ("use", i)
        if hp_frac < 0.5 and "heal" in ready and not b.has("poison"):
            return ("special", "heal")
        if bad and "cleanse" in ready and hp_frac < 0.7:
            return ("special", "cleanse")
        if bad and hp_frac < 0.5 and (i := _item_index(s, "cure", lambda sp: set(bad) & set(sp.value))) is not None:
            return ("use", i)
        if not any(a in ready for a in ("heal", "guard", "brace")) and f.hp > 15 and \
                (i := _item_index(s, "refresh")) is not None and hp_frac < 0.5:
            return ("use", i)
        if "ignite" in ready and not f.has("burn") and f.hp > 10:
            return ("special", "ignite")
        if "poison_strike" in ready and not f.has("poison") and f.hp > 8:
            return ("special", "poison_strike")
        if "guard" in ready and not b.has("shield") and f.power >= 3:
            return ("special", "guard")
        if "brace" in ready and not b.has("thorns") and f.hp > 6:
            return ("special", "brace")
        return ("move", foe.x - p.x, foe.y - p.y)

    def next_command(self, s: GameSession) -> tuple:
        p = s.player
        if s.foe() is not None:
            return self.fight_action(s)
        b = p.body
        full = len(p.inventory) >= 10
        awake = [m for m in s.floor.monsters if m.alive and (m.x, m.y) in s.visible]
        if b.hp < b.max_hp * 0.25 and (i := _item_index(s, "restore_hp")) is not None:
            return ("use", i)
        if (i := _item_index(s, "teach", lambda sp: sp.value not in p.known)) is not None:
            return ("use", i)
        if not awake and b.hp < b.max_hp * 0.9 and not b.has("poison"):
            return ("wait",)
        if full and b.hp < b.max_hp and (i := _item_index(s, "restore_hp")) is not None:
            return ("use", i)  # make room
        if s.items_at(p.x, p.y) and len(p.inventory) < 10:
            return ("pickup",)
        if awake:  # go meet the nearest visible monster
            targets = {(m.x, m.y) for m in awake}
            step = _step_towards(s, lambda c: any(max(abs(c[0] - x), abs(c[1] - y)) <= 1 for x, y in targets))
            if step:
                return ("move", *step)
            return ("wait",)
        items = set() if full else {(i.x, i.y) for i in s.floor.items}
        lvl = s.level
        goals = [
            lambda c: c in items,
            lambda c: any(lvl.in_bounds(c[0] + dx, c[1] + dy) and not lvl.seen[c[1] + dy][c[0] + dx]
                          for dx, dy in DIRECTIONS.values()),
        ]
        if lvl.tile(p.x, p.y) == STAIRS_DOWN and not items:
            return ("descend",)
        for goal in goals:
            step = _step_towards(s, goal)
            if step:
                return ("move", *step)
        if lvl.tile(p.x, p.y) == STAIRS_DOWN:
            return ("descend",)
        step = _step_towards(s, lambda c: lvl.tile(*c) == STAIRS_DOWN)
        if step:
            return ("move", *step)
        return ("move", *self.rng.choice(list(DIRECTIONS.values())))


def play(s: GameSession, max_turns: int, seed: int = 0) -> GameSession:
    """Run the scripted player until the run ends or max_turns commands were issued."""
    bot = AutoPlayer(seed)
    for _ in range(max_turns):
        if s.over:
            break
        s.command(*bot.next_command(s))
    return s
