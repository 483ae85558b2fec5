"""Progression: experience, levels, the boon chosen at each level-up (a build), and the body they make.

A kill is worth the monster's max hp in experience. Each level adds `hp_per_level` max hp and
`power_per_level` power, and one boon to choose (content/player.toml, `[player.boons]`: might, vitality,
toughness...), so two runs of one seed grow apart by the player's choices. Max hp, power and armour are
always recomputed from the base, the level, the boons, the worn armour and lasting effects, and capped by the
content's caps, which the loader keeps inside the shipped model's envelope and the legal state.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from game.exceptions import Impossible

if TYPE_CHECKING:
    from game.session import GameSession


def gain_xp(s: GameSession, amount: int) -> None:
    p, prog = s.player, s.content.player.progression
    p.xp += amount
    while p.level - 1 < len(prog.xp_levels) and p.xp >= prog.xp_levels[p.level - 1]:
        p.level += 1
        p.unspent += 1
        recompute_body(s)
        b = p.body
        s.messages.add(f"You reach level {p.level}: max hp {b.max_hp}, power {b.power}, armour {b.armor}. "
                       "Choose a boon (T).", "kill")


def growth(s: GameSession) -> tuple[int, int, int]:
    """(max hp, power, armour) before the caps, from everything the player has become and wears."""
    p, spec = s.player, s.content.player
    prog = spec.progression
    hp = spec.hp + (p.level - 1) * prog.hp_per_level
    power = spec.power + (p.level - 1) * prog.power_per_level + p.power_bonus
    armor = spec.armor + p.armor_bonus + (s.item_spec(p.worn).value if p.worn else 0)
    for name, times in p.training.items():
        boon = prog.boons[name]
        hp, power, armor = hp + times * boon.max_hp, power + times * boon.power, armor + times * boon.armor
    return hp, power, armor


def recompute_body(s: GameSession) -> None:
    """Max hp, power and armour from `growth`, capped; max hp gained comes with as much hp."""
    prog = s.content.player.progression
    hp, power, armor = growth(s)
    body = s.player.body
    max_hp = min(prog.max_hp, max(1, hp))
    now = min(max_hp, body.hp + max(0, max_hp - body.max_hp))
    s.player.body = replace(body, max_hp=max_hp, hp=now, power=min(prog.max_power, max(1, power)),
                            armor=min(prog.max_armor, max(0, armor)))


def room(s: GameSession) -> dict[str, int]:
    """How much each of max hp, power and armour can still grow before its cap."""
    prog, b = s.content.player.progression, s.player.body
    hp, power, armor = growth(s)
    return {"max_hp": prog.max_hp - max(hp, b.max_hp), "power": prog.max_power - max(power, b.power),
            "armor": prog.max_armor - max(armor, b.armor)}


def train(s: GameSession, boon: str) -> str:
    """Spend one level-up on `boon`; the line for the log. Impossible when there is none to spend, the boon is
    unknown, or every number it raises is at its cap already."""
    p, boons = s.player, s.content.player.progression.boons
    if p.unspent <= 0:
        raise Impossible("You have no level-up to spend (each level brings one).")
    if boon not in boons:
        raise Impossible(f"There is no boon called {boon}.")
    b, left = boons[boon], room(s)
    if all(getattr(b, k) == 0 or left[k] <= 0 for k in left):
        raise Impossible(f"{boon.capitalize()} would give nothing: you are at the cap ({describe_boon(s, boon)}).")
    p.training[boon] = p.training.get(boon, 0) + 1
    p.unspent -= 1
    recompute_body(s)
    body = p.body
    return f"You choose {boon}: max hp {body.max_hp}, power {body.power}, armour {body.armor}."


def describe_boon(s: GameSession, boon: str) -> str:
    b = s.content.player.progression.boons[boon]
    parts = [f"+{b.max_hp} max hp" if b.max_hp else "", f"+{b.power} power" if b.power else "",
             f"+{b.armor} armour" if b.armor else ""]
    return ", ".join(x for x in parts if x)
