"""Activities: many steps for one key (run, auto-explore, travel to the stairs, rest).

Each is a loop of single-step actions through `GameSession.act`, so monsters
answer every step. All stop on danger (a monster in view, losing hp) and say
why in the log; none starts while a monster is in view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from game import clock
from game.actions import Action, Ascend, Descend, Impossible, Move, Wait
from game.dungeon import STAIRS_DOWN, STAIRS_UP
from game.narrate import a_an
from game.pathfind import STEPS, first_step

if TYPE_CHECKING:
    from game.session import GameSession

LIMIT = 300  # steps one activity may take

# what the next step is: an action, or a string saying why to stop ("" when simply done)
NextStep = Callable[[int], "Action | str"]


def danger(s: GameSession) -> str | None:
    """Why an activity must stop now, or None."""
    seen = s.visible_monsters()
    if seen:
        m = min(seen, key=lambda m: max(abs(m.x - s.player.x), abs(m.y - s.player.y)))
        return f"{a_an(m.kind).capitalize()} is in view."
    return None


def _steps(s: GameSession, next_step: NextStep, verb: str) -> None:
    """Take the steps next_step(steps taken so far) gives until it says stop, or danger; say why it stopped."""
    why = danger(s)
    if why:
        raise Impossible(f"Not while a monster is near: {why}")
    taken, hp, reason = 0, s.player.body.hp, f"{verb} long enough."
    hunger = clock.hunger_word(s)
    while taken < LIMIT and not s.over:
        step = next_step(taken)
        if isinstance(step, str):
            reason = step
            break
        turns = s.turns
        s.act(step)
        taken += 1
        if s.turns == turns:
            reason = "blocked."
            break
        if clock.starving(s) and s.turns % s.content.player.hunger.starve_every == 0:
            hp -= 1  # a hunger pang: said once when starving began, not a reason to stop every few steps
        why = danger(s) or ("You are hurt." if s.player.body.hp < hp else None)
        if not why and clock.hunger_word(s) != hunger:
            why = f"you are {clock.hunger_word(s).lower() or 'fed'}."
        if why:
            reason = why
            break
    s.stop_reason = "" if s.over else reason
    if s.stop_reason:
        s.messages.add(f"{verb} stops: {s.stop_reason}" if taken else s.stop_reason, "warn")


def _open_sides(s: GameSession) -> int:
    return sum(s.level.walkable(s.player.x + dx, s.player.y + dy) for dx, dy in STEPS)


def run(s: GameSession, dx: int, dy: int) -> None:
    p = s.player
    start_open = _open_sides(s)

    def step(taken: int) -> Action | str:
        if taken and s.items_at(p.x, p.y):
            return "there is something here."
        if taken and s.level.tile(p.x, p.y) in (STAIRS_DOWN, STAIRS_UP):
            return "you are at the stairs."
        if taken and _open_sides(s) != start_open:
            return "the way opens or narrows."
        if not s.level.walkable(p.x + dx, p.y + dy):
            return "a wall is in the way." if taken else "A wall is in the way."
        return Move(dx, dy)

    _steps(s, step, "Running")


def explore(s: GameSession) -> None:
    p, lvl = s.player, s.level
    start = (p.x, p.y)

    def unexplored(c: tuple[int, int]) -> bool:
        return any(lvl.in_bounds(c[0] + dx, c[1] + dy) and not lvl.seen[c[1] + dy][c[0] + dx] for dx, dy in STEPS)

    def step(taken: int) -> Action | str:
        here = (p.x, p.y)
        if taken and s.items_at(*here):
            s.explored_items.add((s.depth, *here))
            return "there is something here (your pack is full)." if s.settings.auto_pickup else \
                "there is something here (g picks it up)."
        if taken and here == lvl.down:
            return "you found the stairs down (> takes them)."
        items = {(i.x, i.y) for i in s.floor.items if lvl.seen[i.y][i.x]
                 and (s.depth, i.x, i.y) not in s.explored_items} - {start, here}
        move = first_step(lvl, here, lambda c: c in items) or first_step(lvl, here, unexplored)
        if move is not None:
            return Move(*move)
        if lvl.down and lvl.seen[lvl.down[1]][lvl.down[0]]:
            return "Nothing left to explore here; the stairs down are known (> walks there)."
        return "Nothing left to explore here."

    _steps(s, step, "Exploring")


def travel_to_stairs(s: GameSession, down: bool) -> None:
    """Walk to the known stairs. On depth 1 the `<` is the way out of the dungeon: `<` walks there too, and says
    that it is sealed (the way on is down)."""
    lvl, p = s.level, s.player
    goal = lvl.down if down else lvl.up
    word = "down" if down else "up"
    if goal is None or not lvl.seen[goal[1]][goal[0]]:
        raise Impossible(f"You know of no stairs {word} on this level (o explores).")
    way_out = not down and s.depth == 1

    def step(taken: int) -> Action | str:
        if (p.x, p.y) == goal:
            return "" if taken else f"You are on the stairs {word}."
        move = first_step(lvl, (p.x, p.y), lambda c: c == goal)
        return Move(*move) if move else "no known way there."

    _steps(s, step, "Travelling")
    if (p.x, p.y) == goal and not s.over:
        s.messages.add("You reach the way out of the dungeon (<): it is sealed behind you; the way on is down (>)."
                       if way_out else f"You reach the stairs {word} ({'>' if down else '<'} takes them).", "info")


def _rested(s: GameSession) -> bool:
    b = s.player.body
    return b.hp >= b.max_hp and not any(b.cooldowns) and not any(b.statuses)


def rest(s: GameSession) -> None:
    if _rested(s):
        raise Impossible("You are rested already.")
    if clock.starving(s):
        raise Impossible("You are starving: resting heals nothing. Eat something first.")
    _steps(s, lambda taken: "" if _rested(s) else Wait(quiet=True), "Resting")
    b = s.player.body
    if not s.over and b.hp >= b.max_hp and not any(b.cooldowns):
        s.messages.add(f"You are rested (HP {b.hp}/{b.max_hp}).", "info")


# ---------------------------------------------------------------- the actions the keys build

@dataclass
class Run(Action):
    """Shift+direction: keep walking until something interesting happens."""

    dx: int
    dy: int
    spends_turn: ClassVar[bool] = False

    def perform(self, s: GameSession) -> None:
        run(s, self.dx, self.dy)


@dataclass
class Explore(Action):
    """`o`: to the nearest unvisited item or unexplored place; stops for monsters, on items, at the stairs."""

    spends_turn: ClassVar[bool] = False

    def perform(self, s: GameSession) -> None:
        explore(s)


@dataclass
class Rest(Action):
    """`R`: rest until healed, every special action ready and every status gone, or until interrupted."""

    spends_turn: ClassVar[bool] = False

    def perform(self, s: GameSession) -> None:
        rest(s)


@dataclass
class StairsOrTravel(Action):
    """`>` and `<`: take the stairs when standing on them, else walk to the known ones."""

    down: bool
    spends_turn: ClassVar[bool] = False

    def perform(self, s: GameSession) -> None:
        if s.on_stairs(self.down):
            s.act(Descend() if self.down else Ascend())
        else:
            travel_to_stairs(s, self.down)
