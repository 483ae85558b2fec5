"""A scripted player that plays like a careful human: rests before exploring on, heals in time, wears
armour, throws knives at what comes for it, reads thunder when crowded, and walks away from fights it
cannot win while the stairs are close.

Used to balance content, by the tests, and by the headless arena. It only reads the session and
returns an action (game/actions.py) for GameSession.perform.
"""

from __future__ import annotations

import random

from game import items
from game.actions import Action, Ascend, Descend, Move, PickUp, Special, Use, Wait
from game.activities import Explore, Rest
from game.dungeon import STAIRS_DOWN
from game.pathfind import STEPS, first_step
from game.session import INVENTORY_LIMIT, GameSession


def _item_index(s: GameSession, effect: str, want=None) -> int | None:
    for i, (name, _count) in enumerate(items.stacks(s.player.inventory)):
        spec = s.item_spec(name)
        if spec.effect == effect and (want is None or want(spec)):
            return i
    return None


def _dist(a, b) -> int:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]))


class AutoPlayer:
    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def fight_action(self, s: GameSession) -> Action:
        p, foe = s.player, s.foe()
        b, f = p.body, foe.body
        ready = {a for a in p.known if a == "wait" or a == "attack" or b.cooldown(a) == 0}
        hp_frac = b.hp / b.max_hp
        bad = [c for c in ("poison", "burn") if b.has(c)]
        if len(s.adjacent_monsters()) >= 2 and (i := _item_index(s, "blast")) is not None:
            return Use(i)
        if hp_frac < 0.35 and (i := _item_index(s, "restore_hp")) is not None:
            return Use(i)
        if hp_frac < 0.55 and "heal" in ready and not b.has("poison"):
            return Special("heal")
        if hp_frac < 0.35 and "heal" not in ready and f.hp > b.hp and (step := self._retreat(s)) is not None:
            return step  # out of reach a step or two: the cooldowns run down and heal comes back
        if bad and "cleanse" in ready and hp_frac < 0.7:
            return Special("cleanse")
        if bad and hp_frac < 0.5 and (i := _item_index(s, "cure", lambda sp: set(bad) & set(sp.value))) is not None:
            return Use(i)
        if not any(a in ready for a in ("heal", "guard", "brace")) and f.hp > 15 and \
                (i := _item_index(s, "refresh")) is not None and hp_frac < 0.5:
            return Use(i)
        if "ignite" in ready and not f.has("burn") and f.hp > 10:
            return Special("ignite")
        if "poison_strike" in ready and not f.has("poison") and f.hp > 8:
            return Special("poison_strike")
        if "guard" in ready and not b.has("shield") and f.power >= 3:
            return Special("guard")
        if "brace" in ready and not b.has("thorns") and f.hp > 6:
            return Special("brace")
        return Move(foe.x - p.x, foe.y - p.y)

    def next_action(self, s: GameSession) -> Action:
        p = s.player
        if s.foe() is not None:
            return self.fight_action(s)
        b = p.body
        here = (p.x, p.y)
        full = len(items.stacks(p.inventory)) >= INVENTORY_LIMIT
        seen = s.visible_monsters()
        if (i := _item_index(s, "teach", lambda sp: sp.value not in p.known)) is not None:
            return Use(i)
        if (i := _item_index(s, "armour", lambda sp: sp.value > (s.item_spec(p.worn).value if p.worn else 0))) \
                is not None:
            return Use(i)
        if b.power < s.content.player.progression.max_power and b.hp > b.max_hp * 0.8 and \
                (i := _item_index(s, "berserk")) is not None:
            return Use(i)
        if seen:
            near = min(seen, key=lambda m: _dist(here, (m.x, m.y)))
            if b.hp < b.max_hp * 0.3 and (i := _item_index(s, "restore_hp")) is not None:
                return Use(i)
            if s.level.tile(*here) == STAIRS_DOWN and b.hp < b.max_hp * 0.5:
                return Descend()  # a way out of a fight it cannot take
            if near.awake and (i := _item_index(s, "throw", lambda sp: _dist(here, (near.x, near.y)) <= sp.reach)) \
                    is not None:
                return Use(i)
            hunting = near.awake and not (s.spec(near).flee_below and
                                          near.body.hp < s.spec(near).flee_below * near.body.max_hp)
            if hunting:  # let it come: resting meanwhile, and the first blow is ours
                return Wait()
            step = first_step(s.level, here, lambda c: _dist(c, (near.x, near.y)) <= 1,
                              blocked={(m.x, m.y) for m in s.floor.monsters if m.alive})
            return Move(*step) if step else Wait()
        if b.hp < b.max_hp or any(b.cooldowns):
            return Rest()
        if s.items_at(*here) and not full:
            return PickUp()
        if s.level.tile(*here) == STAIRS_DOWN and not self._items_left(s, full):
            return Descend()
        if self._items_left(s, full) or self._unexplored(s):
            return Explore()
        if s.level.down is not None:
            step = first_step(s.level, here, lambda c: c == s.level.down)
            if step:
                return Move(*step)
        if s.depth > 1 and s.level.tile(*here) == "<":
            return Ascend()
        return Move(*self.rng.choice(STEPS))

    def _retreat(self, s: GameSession) -> Action | None:
        """A step to a free cell next to no monster, if there is one."""
        p = s.player
        foes = [(m.x, m.y) for m in s.floor.monsters if m.alive]
        for dx, dy in STEPS:
            c = (p.x + dx, p.y + dy)
            if s.level.walkable(*c) and c not in foes and all(_dist(c, f) > 1 for f in foes):
                return Move(dx, dy)
        return None

    def _items_left(self, s: GameSession, full: bool) -> bool:
        lvl = s.level
        return not full and any(lvl.seen[i.y][i.x] for i in s.floor.items)

    def _unexplored(self, s: GameSession) -> bool:
        lvl = s.level
        return first_step(lvl, (s.player.x, s.player.y), lambda c: any(
            lvl.in_bounds(c[0] + dx, c[1] + dy) and not lvl.seen[c[1] + dy][c[0] + dx] for dx, dy in STEPS)) is not None


class RandomFighter(AutoPlayer):
    """Explores like the scripted player, but in a fight picks uniformly among every action it knows, waits
    and specials on cooldown included: the turns a careful player never plays (docs/evaluation.md, arena)."""

    def fight_action(self, s: GameSession) -> Action:
        foe = s.foe()
        choice = self.rng.choice(sorted(s.player.known))
        if choice == "attack":
            return Move(foe.x - s.player.x, foe.y - s.player.y)
        return Wait() if choice == "wait" else Special(choice)


PLAYERS: dict[str, type[AutoPlayer]] = {"scripted": AutoPlayer, "random": RandomFighter}


def play(s: GameSession, max_actions: int, seed: int = 0) -> GameSession:
    """Run the scripted player until the run ends or max_actions actions were asked for."""
    bot = AutoPlayer(seed)
    for _ in range(max_actions):
        if s.over:
            break
        s.perform(bot.next_action(s))
    return s
