"""Scripted players, for balance (the arena), the tests and the arena's measurements of the model.

- `AutoPlayer` ("scripted") plays like a careful human: rests before exploring on (while the food lasts), eats
  when hungry, heals in time with specials and potions, wears the best armour it has, throws knives and
  javelins at what comes for it, reads thunder when crowded, burns and poisons what its blows cannot pierce,
  spends its level-ups on a balanced build, and walks out of reach of fights it is losing while heal cools.
- `Reckless` never rests and never uses an item: it explores, bumps whatever it meets and takes the stairs
  down as soon as it stands on them.
- `RandomFighter` explores like the scripted player but fights with uniformly random actions (waits and specials
  on cooldown included): the turns a careful player never plays (docs/evaluation.md, arena).

Each only reads the session and returns an action (game/actions.py) for GameSession.perform.
"""

from __future__ import annotations

import random

from game import clock, pack, progression
from game.actions import Action, Ascend, Descend, Move, PickUp, Special, Train, Use, Wait
from game.activities import Explore, Rest
from game.dungeon import STAIRS_DOWN
from game.entities import Monster
from game.pathfind import STEPS, first_step
from game.session import INVENTORY_LIMIT, GameSession

BUILD = ("might", "vitality", "might", "toughness")  # the boons the scripted players take, in turn


def _item_index(s: GameSession, effect: str, want=None) -> int | None:
    """The letter number (0 is a) of the first stack whose effect is `effect` (and that `want` accepts)."""
    for letter, name, _count in pack.stacks(s.player):
        spec = s.item_spec(name)
        if spec.effect == effect and (want is None or want(spec)):
            return pack.LETTERS.index(letter)
    return None


def _dist(a, b) -> int:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]))


def bump_damage(power: int, armor: int) -> float:
    """The mean damage of an attack (rolls 1..6: a miss on 1, +3 on 6) through `armor`, shield aside."""
    return sum(max(0, power + roll + (3 if roll == 6 else 0) - armor) for roll in range(2, 7)) / 6


class AutoPlayer:
    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    # ------------------------------------------------------------ level-ups
    def boon(self, s: GameSession) -> Action | None:
        """A Train action for a level-up not spent yet: the next boon of the build that still gives something."""
        p = s.player
        if not p.unspent:
            return None
        boons = s.content.player.progression.boons
        left = progression.room(s)
        done = sum(p.training.values())
        for i in range(len(BUILD)):
            name = BUILD[(done + i) % len(BUILD)]
            b = boons.get(name)
            if b is not None and any(getattr(b, k) and left[k] > 0 for k in left):
                return Train(name)
        return next((Train(n) for n, b in boons.items() if any(getattr(b, k) and left[k] > 0 for k in left)), None)

    # ------------------------------------------------------------ fights
    def fight_action(self, s: GameSession) -> Action:
        """A race: bump while the blows win it; heal, drink or step away when they would not; burn and poison
        what the blows cannot pierce (they go through armour and shields)."""
        p, foe = s.player, s.foe()
        b, f = p.body, foe.body
        ready = {a for a in p.known if a in ("wait", "attack") or b.cooldown(a) == 0}
        frail = f.status("fragile").magnitude if f.has("fragile") else 0
        bump = max(bump_damage(b.power + frail, f.armor), 0.5)
        hurt_by = sum(bump_damage(m.body.power, b.armor) for m in s.adjacent_monsters())
        turns_to_win = -(-f.hp // bump)
        losing = hurt_by * turns_to_win >= b.hp - 2
        bad = [c for c in ("poison", "burn") if b.has(c)]
        if len(s.adjacent_monsters()) >= 2 and (i := _item_index(s, "blast")) is not None:
            return Use(i)
        if f.hp <= bump and hurt_by < b.hp:
            return Move(foe.x - p.x, foe.y - p.y)  # it falls to this blow
        if losing and b.hp < hurt_by * 2.5 and (i := self._potion(s)) is not None:
            return Use(i)
        mend = s.rules.heal_amount + s.rules.heal_regen * s.rules.heal_regen_turns
        if losing and "heal" in ready and not b.has("poison") and b.hp < b.max_hp * 0.5 and hurt_by < mend:
            return Special("heal")  # a heal outlasts blows smaller than it; against bigger ones, strike
        if losing and b.hp < hurt_by * 2 and (step := self._retreat(s)) is not None:
            return step  # out of reach a step or two: the cooldowns run down and heal comes back
        if bad and "cleanse" in ready and b.hp < b.max_hp * 0.6:
            return Special("cleanse")
        if bad and b.hp < b.max_hp * 0.4 and (i := _item_index(s, "cure", lambda sp: set(bad) & set(sp.value))):
            return Use(i)
        if losing and not any(a in ready for a in ("heal", "ignite")) and (i := _item_index(s, "refresh")) is not None:
            return Use(i)
        if "ignite" in ready and not f.has("burn") and f.hp > 2 * bump and (bump < 9 or f.has("regen")):
            return Special("ignite")
        if "poison_strike" in ready and not f.has("poison") and f.hp > 2 * bump and bump < 7:
            return Special("poison_strike")
        if bump < 5 and "guard" in ready and not b.has("shield") and hurt_by >= 5:
            return Special("guard")
        if bump < 5 and "brace" in ready and not b.has("thorns"):
            return Special("brace")
        return Move(foe.x - p.x, foe.y - p.y)

    def _potion(self, s: GameSession) -> int | None:
        """The smallest healing potion that is worth drinking now (the big ones for big wounds); None at full."""
        b = s.player.body
        if b.hp >= b.max_hp:
            return None
        best = None
        for letter, name, _ in pack.stacks(s.player):
            spec = s.item_spec(name)
            if spec.effect == "restore_hp" and (best is None or spec.value < best[1]):
                if spec.value <= (b.max_hp - b.hp) * 1.5 or best is None:
                    best = (pack.LETTERS.index(letter), spec.value)
        return None if best is None else best[0]

    # ------------------------------------------------------------ between fights
    def next_action(self, s: GameSession) -> Action:
        if (train := self.boon(s)) is not None:
            return train
        if s.foe() is not None:
            return self.fight_action(s)
        p = s.player
        b = p.body
        here = (p.x, p.y)
        full = pack.kinds(p) >= INVENTORY_LIMIT
        seen = s.visible_monsters()
        if (i := _item_index(s, "teach", lambda sp: sp.value not in p.known)) is not None:
            return Use(i)
        if (i := _item_index(s, "armour", lambda sp: sp.value > (s.item_spec(p.worn).value if p.worn else 0))) \
                is not None:
            return Use(i)
        if progression.room(s)["power"] > 0 and b.hp > b.max_hp * 0.8 and (i := _item_index(s, "berserk")) \
                is not None:
            return Use(i)
        if p.food <= s.content.player.hunger.hungry + 100 and (i := _item_index(s, "food")) is not None:
            return Use(i)
        if seen:
            near = seen[0]
            if b.hp < b.max_hp * 0.3 and (i := self._potion(s)) is not None:
                return Use(i)
            if s.level.tile(*here) == STAIRS_DOWN and b.hp < b.max_hp * 0.5:
                return Descend()  # a way out of a fight it cannot take
            if near.awake and (i := self._throwable(s, near)) is not None:
                return Use(i)
            hunting = near.awake and not (s.spec(near).flee_below and
                                          near.body.hp < s.spec(near).flee_below * near.body.max_hp)
            if hunting:  # let it come: resting meanwhile, and the first blow is ours
                return Wait()
            step = first_step(s.level, here, lambda c: _dist(c, (near.x, near.y)) <= 1,
                              blocked={(m.x, m.y) for m in s.floor.monsters if m.alive})
            return Move(*step) if step else Wait()
        if self._wants_rest(s):
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

    def _wants_rest(self, s: GameSession) -> bool:
        """Rest to full while the food lasts; when food is short (and none is carried), only to mend big wounds."""
        b, food = s.player.body, s.player.food
        if clock.starving(s):
            return False
        if b.hp >= b.max_hp and not any(b.cooldowns) and not any(b.statuses):
            return False
        short = food < s.content.player.hunger.hungry + 200 and _item_index(s, "food") is None
        return not short or b.hp < b.max_hp * 0.5

    def _throwable(self, s: GameSession, m: Monster) -> int | None:
        """The weakest thrown weapon that reaches `m` and is worth it on it (a javelin for the big ones)."""
        here = (s.player.x, s.player.y)
        best = None
        for letter, name, _ in pack.stacks(s.player):
            spec = s.item_spec(name)
            if spec.effect == "throw" and _dist(here, (m.x, m.y)) <= spec.reach and spec.value > m.body.armor:
                if spec.value > 2 * m.body.hp and best is not None:
                    continue
                if best is None or spec.value < best[1]:
                    best = (pack.LETTERS.index(letter), spec.value)
        return None if best is None else best[0]

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
        return not full and any(lvl.seen[i.y][i.x] and (s.depth, i.x, i.y) not in s.explored_items
                                for i in s.floor.items)

    def _unexplored(self, s: GameSession) -> bool:
        lvl = s.level
        return first_step(lvl, (s.player.x, s.player.y), lambda c: any(
            lvl.in_bounds(c[0] + dx, c[1] + dy) and not lvl.seen[c[1] + dy][c[0] + dx] for dx, dy in STEPS)) is not None


class Reckless(AutoPlayer):
    """Never rests, never uses an item: explores, bumps whatever it meets, dives at the first stairs down."""

    def fight_action(self, s: GameSession) -> Action:
        foe = s.foe()
        return Move(foe.x - s.player.x, foe.y - s.player.y)

    def next_action(self, s: GameSession) -> Action:
        if (train := self.boon(s)) is not None:
            return train
        if s.foe() is not None:
            return self.fight_action(s)
        p = s.player
        here = (p.x, p.y)
        if s.level.tile(*here) == STAIRS_DOWN:
            return Descend()
        seen = s.visible_monsters()
        if seen:
            near = seen[0]
            step = first_step(s.level, here, lambda c: _dist(c, (near.x, near.y)) <= 1,
                              blocked={(m.x, m.y) for m in s.floor.monsters if m.alive})
            return Move(*step) if step else Wait()
        down = s.level.down
        if down is not None and s.level.seen[down[1]][down[0]]:
            step = first_step(s.level, here, lambda c: c == down)
            if step:
                return Move(*step)
        if self._unexplored(s):
            return Explore()
        return Move(*self.rng.choice(STEPS))


class RandomFighter(AutoPlayer):
    """Explores like the scripted player, but in a fight picks uniformly among every action it knows, waits
    and specials on cooldown included: the turns a careful player never plays (docs/evaluation.md, arena)."""

    def fight_action(self, s: GameSession) -> Action:
        foe = s.foe()
        choice = self.rng.choice(sorted(s.player.known))
        if choice == "attack":
            return Move(foe.x - s.player.x, foe.y - s.player.y)
        return Wait() if choice == "wait" else Special(choice)


PLAYERS: dict[str, type[AutoPlayer]] = {"scripted": AutoPlayer, "reckless": Reckless, "random": RandomFighter}


def play(s: GameSession, max_actions: int, seed: int = 0, player: str = "scripted") -> GameSession:
    """Run a scripted player until the run ends or max_actions actions were asked for."""
    bot = PLAYERS[player](seed)
    for _ in range(max_actions):
        if s.over:
            break
        s.perform(bot.next_action(s))
    return s
