"""What the player can do, as small objects (the python-tcod tutorial's actions).

`perform(session)` changes the game or raises Impossible with the reason, which
the session writes to the log once (GameSession.perform); no turn is spent then.
The TUI's keys, the arena's scripted player and the tests all build actions.

Single-step actions spend one turn (the session lets monsters act after them).
The activities (game/activities.py: run, explore, travel, rest) are actions too,
of many steps; they spend their own turns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from game.session import GameSession


class Impossible(Exception):
    """The action cannot be done now; the message says why and no turn passes."""


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
        s.move_or_attack(self.dx, self.dy)


@dataclass
class Wait(Action):
    """Rest a turn (or spend the turn in the fight when a foe is adjacent)."""

    def perform(self, s: GameSession) -> None:
        s.wait()


@dataclass
class Special(Action):
    """A special action (heal, guard, brace, cleanse, poison_strike, ignite) at the adjacent foe."""

    name: str

    def perform(self, s: GameSession) -> None:
        s.special(self.name)


@dataclass
class PickUp(Action):
    def perform(self, s: GameSession) -> None:
        s.pick_up()


@dataclass
class Use(Action):
    """Use the item stack at `index` of the pack (its letter in the inventory)."""

    index: int

    def perform(self, s: GameSession) -> None:
        s.use(self.index)


@dataclass
class Drop(Action):
    """Drop one item of the stack at `index` where the player stands."""

    index: int

    def perform(self, s: GameSession) -> None:
        s.drop(self.index)


@dataclass
class Descend(Action):
    def perform(self, s: GameSession) -> None:
        s.take_stairs(down=True)


@dataclass
class Ascend(Action):
    def perform(self, s: GameSession) -> None:
        s.take_stairs(down=False)
