"""Things on the map: the player, monsters, floor items, and a floor that holds them.

Combat numbers live in a `Combatant` (game.combat.state), so the state a
resolver sees is exactly what the entity carries between turns and fights.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from game.combat.state import Combatant
from game.dungeon import Level


@dataclass
class Monster:
    kind: str  # MonsterSpec.name
    x: int
    y: int
    body: Combatant
    fight_turn: int = 0  # the combat turn counter of this monster's fight with the player
    in_fight: bool = False
    awake: bool = False
    fled: int = 0  # steps fled in a row: a fleeing monster tires and turns to fight (game.ai)

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
    inventory: list[str] = field(default_factory=list)  # ItemSpec names; equal names stack
    letters: dict[str, str] = field(default_factory=dict)  # item name -> its pack letter (game/pack.py)
    # progression (game.progression.recompute_body turns these into max hp, power and armour, capped)
    xp: int = 0
    level: int = 1
    worn: str | None = None  # the armour being worn (an ItemSpec name)
    power_bonus: int = 0  # from double-edged items
    armor_bonus: int = 0
    training: dict[str, int] = field(default_factory=dict)  # boon -> times chosen at a level-up
    unspent: int = 0  # level-ups whose boon is not chosen yet
    food: int = 0  # the hunger clock (game/clock.py): turns of food left


@dataclass
class Floor:
    """One depth: its map and what is on it (kept when the player leaves, for the way back)."""

    level: Level
    monsters: list[Monster]
    items: list[FloorItem]


def out_of_combat_tick(body: Combatant) -> Combatant:
    """A turn spent outside a fight: poison and burn hurt and regen heals as they do at the end of a combat turn
    (so walking away from a fight does not shed its poison for free), then statuses and cooldowns run down.
    Fatigue and everything else stay the resolver's: this is no combat turn."""
    hp = body.hp
    for ch in ("poison", "burn"):
        st = body.status(ch)
        if st is not None and hp > 0:
            hp = max(0, hp - st.magnitude)
    regen = body.status("regen")
    if regen is not None and hp > 0 and not body.has("poison"):
        hp = min(body.max_hp, hp + regen.magnitude)
    statuses = tuple(None if s is None or s.turns <= 1 else replace(s, turns=s.turns - 1) for s in body.statuses)
    cooldowns = tuple(max(0, c - 1) for c in body.cooldowns)
    return replace(body, hp=hp, statuses=statuses, cooldowns=cooldowns)


def tick_cause(before: Combatant) -> str:
    """What a body that an out-of-fight tick took to 0 hp died of, in words."""
    return "succumbed to poison" if before.has("poison") else "burned to death"
