"""How a monster picks its action in a fight: its tactic (content/monsters.toml, `tactic`).

Every tactic chooses among the actions the monster knows (its `actions` table) that make sense now (`usable`:
off cooldown; heal only when hurt; cleanse only with poison, burn or fragile on it; no second shield or thorns;
no poisoning a poisoned player or igniting a burning one).

- weights: a draw by the weights (the monster's own mix, as before tactics).
- healer: fights by its weights while healthy; hurt (below half), it guards first (a shield to heal behind),
  then heals.
- caster: stacks statuses: ignite, poison, thorns and a shield before it strikes, healing when hurt, so a fight
  with it crowds both sides with statuses.
- brute: strikes; hurt, it braces (thorns) so that every blow the player lands costs them.
- boss: strikes, keeping the player fragile (ignite) so that its critical blows stun; heals when nearly down.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from game.combat.state import SLOTS
from game.content.loader import MonsterSpec
from game.entities import Monster

if TYPE_CHECKING:
    from game.session import GameSession

HURT = 0.5  # below this fraction of max hp a healer, a brute and the boss change their ways
HEAL_BELOW = 0.6  # heal is usable below this fraction
CASTER_HEAL_BELOW = 0.9  # a caster heals sooner: its regeneration is one more status on the board


def usable(s: GameSession, m: Monster, spec: MonsterSpec) -> dict[str, float]:
    """The monster's actions (with their weights) that make sense now."""
    b, p = m.body, s.player.body
    out = {}
    for action, weight in spec.actions.items():
        if weight <= 0 or (action in SLOTS and b.cooldown(action) > 0):
            continue
        if action == "heal" and b.hp > (CASTER_HEAL_BELOW if spec.tactic == "caster" else HEAL_BELOW) * b.max_hp:
            continue
        if action == "cleanse" and not any(b.has(c) for c in ("poison", "burn", "fragile")):
            continue
        if (action == "guard" and b.has("shield")) or (action == "brace" and b.has("thorns")):
            continue
        if (action == "ignite" and p.has("burn")) or (action == "poison_strike" and p.has("poison")):
            continue
        out[action] = weight
    return out


def _draw(s: GameSession, options: dict[str, float]) -> str:
    """A draw by weight from `options` (the AI stream), or attack when there is none."""
    if not options:
        return "attack"
    return s.ai_rng.choices(list(options), weights=list(options.values()))[0]


def _first(options: dict[str, float], order: tuple[str, ...]) -> str | None:
    return next((a for a in order if a in options), None)


def _hurt(m: Monster) -> bool:
    return m.body.hp < HURT * m.body.max_hp


def weights(s: GameSession, m: Monster, options: dict[str, float]) -> str:
    return _draw(s, options)


def healer(s: GameSession, m: Monster, options: dict[str, float]) -> str:
    if _hurt(m):
        pick = _first(options, ("guard", "heal", "cleanse"))
        if pick:
            return pick
    return _draw(s, {a: w for a, w in options.items() if a not in ("guard", "heal")})


def caster(s: GameSession, m: Monster, options: dict[str, float]) -> str:
    order = ("heal", "ignite", "poison_strike", "brace", "guard") if _hurt(m) else \
        ("ignite", "poison_strike", "brace", "guard", "cleanse", "heal")
    pick = _first(options, order)
    if pick == "heal" and (m.body.has("regen") or m.body.hp >= m.body.max_hp):
        pick = None  # a heal at full hp is no status gained
    return pick or _draw(s, {a: w for a, w in options.items() if a in ("attack", "wait")})


def brute(s: GameSession, m: Monster, options: dict[str, float]) -> str:
    if _hurt(m) and "brace" in options:
        return "brace"
    return _draw(s, {a: w for a, w in options.items() if a != "brace"})


def boss(s: GameSession, m: Monster, options: dict[str, float]) -> str:
    """Strikes, and keeps the player fragile (ignite), so that its critical blows stun; heals only when nearly
    down, cleanses its own burn: at its size a heal or a shield of the rules' few points is worth less than a
    blow."""
    p = s.player.body
    if m.body.hp < 0.25 * m.body.max_hp and "heal" in options:
        return "heal"
    if "ignite" in options and not p.has("fragile"):
        return "ignite"
    if "cleanse" in options and m.body.has("burn"):
        return "cleanse"
    return _draw(s, {a: w for a, w in options.items() if a in ("attack", "poison_strike")})


TACTICS: dict[str, Callable[[GameSession, Monster, dict[str, float]], str]] = {
    "weights": weights, "healer": healer, "caster": caster, "brute": brute, "boss": boss,
}


def choose(s: GameSession, m: Monster, spec: MonsterSpec) -> str:
    return TACTICS[spec.tactic](s, m, usable(s, m, spec))
