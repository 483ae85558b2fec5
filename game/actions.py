"""What the player can do, as small objects that do it (the python-tcod tutorial's actions).

`perform(session)` changes the game or raises Impossible with the reason, which the session writes to the log
once (GameSession.perform); no turn is spent then. The TUI's keys, the arena's scripted player and the tests
all build actions. Each action holds its own rules here; the session only provides what many share (the
queries, a combat turn through the resolvers, the end of a turn).

Single-step actions spend one turn (the session lets monsters act after them). The activities
(game/activities.py: run, explore, travel, rest) are actions too, of many steps; they spend their own turns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from game import clock, death, items, pack, progression
from game.combat.state import SLOTS
from game.content.loader import ItemSpec
from game.dungeon import STAIRS_DOWN, STAIRS_UP
from game.entities import FloorItem
from game.exceptions import Impossible
from game.procgen import build_floor

if TYPE_CHECKING:
    from game.session import GameSession

__all__ = ["Action", "Ascend", "Descend", "Drop", "Impossible", "Move", "PickUp", "Special", "Train", "Use", "Wait"]


class Action:
    spends_turn: ClassVar[bool] = True

    def perform(self, s: GameSession) -> None:
        raise NotImplementedError


@dataclass
class Move(Action):
    """Walk one step, or attack the monster standing there (bump to attack)."""

    dx: int
    dy: int

    def perform(self, s: GameSession) -> None:
        p = s.player
        nx, ny = p.x + self.dx, p.y + self.dy
        target = s.monster_at(nx, ny)
        if target is not None:
            s.fight(target, "attack", monster_acts=False)
            return
        if not s.level.walkable(nx, ny):
            raise Impossible("A wall is in the way.")
        if p.body.has("stun") and s.adjacent_monsters():
            s.fight(s.foe(), "wait", monster_acts=False)  # the resolver spends the stunned turn
            return
        p.x, p.y = nx, ny
        s.quiet_turn()
        _arrive(s)


def _arrive(s: GameSession) -> None:
    """What stepping onto a cell shows: items (picked up when auto-pickup is on and the pack has room), stairs."""
    p = s.player
    here = s.items_at(p.x, p.y)
    if here and s.settings.auto_pickup and not s.over:
        for item in here:
            if pack.has_room(p, item.kind):
                _take(s, item)
        here = s.items_at(p.x, p.y)
    if here:
        names = ", ".join(i.kind for i in here)
        full = " (your pack is full)" if s.settings.auto_pickup else " (g to pick up)"
        s.messages.add(f"You see here: {names}{full}.", "item")
    tile = s.level.tile(p.x, p.y)
    if tile == STAIRS_DOWN:
        s.messages.add("Stairs lead down (>).", "info")
    elif tile == STAIRS_UP:
        s.messages.add("Stairs lead up (<)." if s.depth > 1 else
                       "The way out of the dungeon: sealed behind you. The way on is down (>).", "info")


def _take(s: GameSession, item: FloorItem) -> None:
    s.floor.items.remove(item)
    s.player.inventory.append(item.kind)
    count = s.player.inventory.count(item.kind)
    letter = next(ch for ch, name, _ in pack.stacks(s.player) if name == item.kind)
    s.messages.add(f"You pick up the {item.kind} ({letter}{f', {count} now' if count > 1 else ''}).", "item")


@dataclass
class Wait(Action):
    """Spend a turn: in the fight when a foe is adjacent, else resting (+wait_recover hp unless poisoned or
    starving). `quiet`: no line of its own (R rests many turns and says how it ended)."""

    quiet: bool = False

    def perform(self, s: GameSession) -> None:
        foe = s.foe()
        if foe is not None:
            s.fight(foe, "wait", monster_acts=False)
            return
        body = s.player.body
        healed = 0
        if not body.has("poison") and not clock.starving(s) and body.hp < body.max_hp:
            healed = min(s.rules.wait_recover, body.max_hp - body.hp)
            s.player.body = replace(body, hp=body.hp + healed)
        s.quiet_turn()
        if not self.quiet:
            s.messages.add(f"You wait{f' (+{healed} hp)' if healed else ''}.", "info")


@dataclass
class Special(Action):
    """A special action (heal, guard, brace, cleanse, poison_strike, ignite) at the adjacent foe."""

    name: str

    def perform(self, s: GameSession) -> None:
        p = s.player
        name = items.words(self.name)
        if self.name not in p.known:
            raise Impossible(f"You do not know {name} (a scroll teaches it).")
        if self.name in SLOTS and p.body.cooldown(self.name) > 0:
            raise Impossible(f"{name.capitalize()} is not ready ({p.body.cooldown(self.name)} turns).")
        foe = s.foe()
        if foe is None:
            raise Impossible(f"No foe in reach for {name}.")
        s.fight(foe, self.name, monster_acts=False)


@dataclass
class PickUp(Action):
    """`g`: pick up what lies here (everything there is room for)."""

    def perform(self, s: GameSession) -> None:
        here = s.items_at(s.player.x, s.player.y)
        if not here:
            raise Impossible("Nothing here to pick up.")
        fits = [i for i in here if pack.has_room(s.player, i.kind)]
        if not fits:
            raise Impossible(f"Your pack is full ({pack.INVENTORY_LIMIT} kinds of item); d drops one.")
        for item in fits:
            if pack.has_room(s.player, item.kind):
                _take(s, item)
        s.quiet_turn()


@dataclass
class Use(Action):
    """Use the item under letter number `index` of the pack (0 is a)."""

    index: int

    def perform(self, s: GameSession) -> None:
        spec = _item(s, self.index)
        line = items.EFFECTS[spec.effect](s, spec)  # raises Impossible: the item stays
        s.player.inventory.remove(spec.name)
        s.messages.add(line, "item")
        death.bury(s)  # a knife or a blast may have killed
        s.quiet_turn(tick=False)  # using an item ticks nothing: no status runs down while a potion is drunk


@dataclass
class Drop(Action):
    """Drop one item of the stack under letter number `index` where the player stands."""

    index: int

    def perform(self, s: GameSession) -> None:
        spec = _item(s, self.index)
        s.player.inventory.remove(spec.name)
        s.floor.items.append(FloorItem(spec.name, s.player.x, s.player.y))
        s.messages.add(f"You drop the {spec.name}.", "item")
        s.quiet_turn()


def _item(s: GameSession, index: int) -> ItemSpec:
    name = pack.at(s.player, index)
    if name is None:
        letter = pack.LETTERS[index] if 0 <= index < len(pack.LETTERS) else "?"
        raise Impossible(f"You have no such item ({letter}).")
    return s.item_spec(name)


@dataclass
class Descend(Action):
    def perform(self, s: GameSession) -> None:
        if s.level.tile(s.player.x, s.player.y) != STAIRS_DOWN:
            raise Impossible("There are no stairs down here.")
        _change_depth(s, s.depth + 1)


@dataclass
class Ascend(Action):
    def perform(self, s: GameSession) -> None:
        if s.level.tile(s.player.x, s.player.y) != STAIRS_UP:
            raise Impossible("There are no stairs up here.")
        if s.depth == 1:
            raise Impossible("This is the way out of the dungeon, sealed behind you: the only way on is down (>).")
        _change_depth(s, s.depth - 1)


def _change_depth(s: GameSession, depth: int) -> None:
    going_down = depth > s.depth
    for m in s.floor.monsters:  # fights end when the player leaves the level
        m.in_fight, m.fight_turn = False, 0
    s.depth = depth
    if depth not in s.floors:
        s.floors[depth] = build_floor(s.content, s.seed, depth)
    s.max_depth = max(s.max_depth, depth)
    s.player.x, s.player.y = s.level.up if going_down else (s.level.down or s.level.up)
    s.quiet_turn()
    last = " The air is hot and still: something vast waits here." if depth == s.content.dungeon.depths else ""
    s.messages.add(f"You {'descend' if going_down else 'climb'} to depth {depth}.{last}", "info")


@dataclass
class Train(Action):
    """Spend a level-up on a boon (content/player.toml): no time passes."""

    boon: str
    spends_turn: ClassVar[bool] = False

    def perform(self, s: GameSession) -> None:
        s.messages.add(progression.train(s, self.boon), "kill")
