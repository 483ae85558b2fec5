"""Items: what each effect does (a table from effect name to function), and items in words.

An effect function takes the session and the item's spec, changes the game and
returns the line for the log, or raises Impossible (nothing happens, no turn
is spent, the item stays in the pack). Every number comes from content/items.toml.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from game import progression
from game.combat.state import SLOTS
from game.content.loader import ItemSpec
from game.exceptions import Impossible

if TYPE_CHECKING:
    from game.session import GameSession

STATUS_WORDS = {"poison": "poison", "burn": "burning", "fragile": "fragility", "stun": "stun",
                "shield": "shield", "regen": "regeneration", "thorns": "thorns"}


def words(action: str) -> str:
    """An internal id in words: poison_strike -> poison strike."""
    return action.replace("_", " ")


def describe(spec: ItemSpec) -> str:
    """One sentence saying what the item does, with its numbers."""
    v = spec.value
    text = {
        "restore_hp": lambda: f"Restores up to {v} hp.",
        "cure": lambda: f"Cures {' and '.join(STATUS_WORDS[c] for c in v)}.",
        "teach": lambda: f"Teaches the special action {words(v)} (or makes it ready again if known).",
        "refresh": lambda: "Makes every special action ready at once.",
        "armour": lambda: f"Armour: wear it for +{v} armour (one suit at a time; the old one goes back to the pack).",
        "throw": lambda: f"Thrown at the nearest foe in sight within {spec.reach} tiles: {v} damage less its armour.",
        "blast": lambda: f"Every monster within {spec.reach} tiles takes {v} damage, less its armour. You are spared.",
        "berserk": lambda: f"Double-edged: +{v} power for good, but -{spec.cost} armour for good (refused at the "
                           "power cap).",
        "food": lambda: f"Food: {v} turns of it (a stomach holds at most a full day's worth).",
    }[spec.effect]()
    return f"{text} {spec.about}".strip()


def _restore_hp(s: GameSession, spec: ItemSpec) -> str:
    b = s.player.body
    if b.hp >= b.max_hp:
        raise Impossible("You are already at full health.")
    gained = min(spec.value, b.max_hp - b.hp)
    s.player.body = replace(b, hp=b.hp + gained)
    return f"You drink the {spec.name} (+{gained} hp)."


def _cure(s: GameSession, spec: ItemSpec) -> str:
    cured = [ch for ch in spec.value if s.player.body.has(ch)]
    if not cured:
        raise Impossible(f"The {spec.name} would cure nothing now.")
    for ch in cured:
        s.player.body = s.player.body.with_status(ch, None)
    return f"The {spec.name} cures {' and '.join(STATUS_WORDS[c] for c in cured)}."


def _teach(s: GameSession, spec: ItemSpec) -> str:
    p = s.player
    if spec.value in p.known:
        p.body = p.body.with_cooldown(spec.value, 0)
        return f"You already know {words(spec.value)}; it is ready again."
    p.known.append(spec.value)
    return f"You learn {words(spec.value)}!"


def _refresh(s: GameSession, spec: ItemSpec) -> str:
    s.player.body = replace(s.player.body, cooldowns=(0,) * len(SLOTS))
    return "Time bends: every special action is ready."


def _armour(s: GameSession, spec: ItemSpec) -> str:
    p = s.player
    old = p.worn
    p.worn = spec.name
    if old is not None:
        p.inventory.append(old)
    progression.recompute_body(s)
    tail = f" and put the {old} in your pack" if old else ""
    return f"You put on the {spec.name}{tail} (armour {p.body.armor})."


def _hurt(m, damage: int) -> int:
    """Damage outside the resolver (the session kills what reaches 0 once the item's line is written)."""
    dealt = max(1, damage - m.body.armor)
    m.body = replace(m.body, hp=max(0, m.body.hp - dealt))
    m.awake = True
    return dealt


def _in_reach(s: GameSession, reach: int) -> list:
    """Living monsters in view within `reach` tiles (king moves) of the player."""
    p = s.player
    return [m for m in s.floor.monsters if m.alive and (m.x, m.y) in s.visible
            and max(abs(m.x - p.x), abs(m.y - p.y)) <= reach]


def _throw(s: GameSession, spec: ItemSpec) -> str:
    p = s.player
    seen = _in_reach(s, spec.reach)
    if not seen:
        raise Impossible(f"No foe in sight within {spec.reach} tiles to throw the {spec.name} at.")
    m = min(seen, key=lambda m: (max(abs(m.x - p.x), abs(m.y - p.y)), m.body.hp))
    dealt = _hurt(m, spec.value)
    return f"You throw the {spec.name} at the {m.kind} for {dealt}."


def _blast(s: GameSession, spec: ItemSpec) -> str:
    hit = _in_reach(s, spec.reach)
    if not hit:
        raise Impossible(f"No monster within {spec.reach} tiles: the {spec.name} would be wasted.")
    parts = [f"the {m.kind} takes {_hurt(m, spec.value)}" for m in hit]
    return f"The {spec.name} erupts in thunder: {_and(parts)}."


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _berserk(s: GameSession, spec: ItemSpec) -> str:
    p = s.player
    gain = min(spec.value, progression.room(s)["power"])
    if gain <= 0:
        raise Impossible(f"You are as strong as you can grow (power {p.body.power}, the cap): the {spec.name} "
                         "would only cost you armour.")
    power = p.body.power
    p.power_bonus += gain
    p.armor_bonus -= spec.cost
    progression.recompute_body(s)
    capped = f" (+{gain}: the cap)" if gain < spec.value else ""
    return f"Rage floods you: power {power} -> {p.body.power}{capped}, armour {p.body.armor}."


def _food(s: GameSession, spec: ItemSpec) -> str:
    p, full = s.player, s.content.player.hunger.full
    if p.food >= full - spec.value // 4:
        raise Impossible(f"You are too full to eat the {spec.name}.")
    p.food = min(full, p.food + spec.value)
    return f"You eat the {spec.name}. You feel {'full' if p.food >= full else 'fed'}."


EFFECTS: dict[str, Callable[[GameSession, ItemSpec], str]] = {
    "restore_hp": _restore_hp, "cure": _cure, "teach": _teach, "refresh": _refresh,
    "armour": _armour, "throw": _throw, "blast": _blast, "berserk": _berserk, "food": _food,
}
