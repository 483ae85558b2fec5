"""Immutable combat state: the turn counter and two combatants.

The actor is the side whose turn is being resolved; the target is the other one.
Only the actor's statuses and cooldowns tick at the end of a turn, so a
combatant's durations count its own turns.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

CHANNELS: tuple[str, ...] = ("shield", "poison", "burn", "regen", "thorns", "stun", "fragile")
# Channels whose strength matters to the rules; stun only has a duration.
MAGNITUDE_CHANNELS: frozenset[str] = frozenset(CHANNELS) - {"stun"}
ACTIONS: tuple[str, ...] = (
    "attack", "heal", "guard", "cleanse", "poison_strike", "ignite", "brace", "wait",
)
# One cooldown slot per special action, in this order everywhere.
SLOTS: tuple[str, ...] = ("heal", "guard", "cleanse", "poison_strike", "ignite", "brace")
MAX_VALUE = 99  # every two-digit field
MAX_DIGIT = 9  # every one-digit field (durations, cooldowns, roll)
MAX_TURN = 99  # the turn counter saturates here


@dataclass(frozen=True, slots=True)
class Status:
    magnitude: int  # 0 for stun
    turns: int  # own turns left, >= 1 while present


def _no_statuses() -> tuple[Status | None, ...]:
    return (None,) * len(CHANNELS)


@dataclass(frozen=True, slots=True)
class Combatant:
    hp: int
    max_hp: int
    power: int
    armor: int
    cooldowns: tuple[int, ...] = (0,) * len(SLOTS)
    statuses: tuple[Status | None, ...] = field(default_factory=_no_statuses)

    def status(self, channel: str) -> Status | None:
        return self.statuses[CHANNELS.index(channel)]

    def has(self, channel: str) -> bool:
        return self.statuses[CHANNELS.index(channel)] is not None

    def cooldown(self, slot: str) -> int:
        return self.cooldowns[SLOTS.index(slot)]

    def with_status(self, channel: str, status: Status | None) -> Combatant:
        statuses = list(self.statuses)
        statuses[CHANNELS.index(channel)] = status
        return replace(self, statuses=tuple(statuses))

    def with_cooldown(self, slot: str, value: int) -> Combatant:
        cds = list(self.cooldowns)
        cds[SLOTS.index(slot)] = value
        return replace(self, cooldowns=tuple(cds))

    def active(self) -> list[tuple[str, Status]]:
        return [(ch, s) for ch, s in zip(CHANNELS, self.statuses, strict=False) if s is not None]


@dataclass(frozen=True, slots=True)
class CombatState:
    turn: int
    actor: Combatant
    target: Combatant

    def swapped(self) -> CombatState:
        """The same moment seen from the other side: the target acts next."""
        return CombatState(self.turn, self.target, self.actor)
