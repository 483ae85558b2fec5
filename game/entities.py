"""Things on the map: the player, monsters and floor items.

Combat numbers live in a `Combatant` (game.combat.state), so the state a
resolver sees is exactly what the entity carries between turns and fights.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from game.combat.state import Combatant


@dataclass
class Monster:
    kind: str  # MonsterSpec.name
    x: int
    y: int
    body: Combatant
    fight_turn: int = 0  # the combat turn counter of this monster's fight with the player
    in_fight: bool = False
    awake: bool = False

    @property
    def alive(self) -> bool:
        return self.body.hp > 0


@dataclass
class FloorItem:
    kind: str  # ItemSpec.name
    x: int
    y: int


@dataclass
class Player:
    x: int
    y: int
    body: Combatant
    known: list[str]  # actions the player can use (attack, wait and the taught specials)
    inventory: list[str] = field(default_factory=list)  # ItemSpec names
