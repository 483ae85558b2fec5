"""Judging a proposed next state: invariants, a field-level diff, and which rules touch a field.

The invariants are what any answer must satisfy whatever the roll was; they
catch impossible answers (a model's, a corrupted log's) without re-running
the rules. Agreement with the rules is the diff's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from game.combat.rules import Event
from game.combat.state import (
    CHANNELS,
    MAX_DIGIT,
    MAX_TURN,
    MAX_VALUE,
    SLOTS,
    Combatant,
    CombatState,
)

# Which statuses an action may create, and on whom. Anything else appearing is impossible.
_CAUSES: dict[tuple[str, str], frozenset[str]] = {
    ("actor", "shield"): frozenset({"guard"}),
    ("actor", "thorns"): frozenset({"brace"}),
    ("actor", "regen"): frozenset({"heal"}),
    ("target", "poison"): frozenset({"poison_strike"}),
    ("target", "burn"): frozenset({"ignite"}),
    ("target", "fragile"): frozenset({"ignite"}),
    ("target", "stun"): frozenset({"attack", "poison_strike"}),
}
_HEALS = frozenset({"heal", "wait"})


@dataclass(frozen=True, slots=True)
class Violation:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def _range_checks(side: str, c: Combatant, out: list[Violation]) -> None:
    if not 0 <= c.hp <= c.max_hp:
        out.append(Violation(f"{side}.hp", f"{c.hp} outside 0..{c.max_hp}"))
    for slot, v in zip(SLOTS, c.cooldowns, strict=False):
        if not 0 <= v <= MAX_DIGIT:
            out.append(Violation(f"{side}.cd.{slot}", f"{v} outside 0..{MAX_DIGIT}"))
    for ch, s in c.active():
        if not 1 <= s.turns <= MAX_DIGIT:
            out.append(Violation(f"{side}.{ch}.turns", f"{s.turns} outside 1..{MAX_DIGIT}"))
        limit = (0, 0) if ch == "stun" else (1, MAX_VALUE)
        if not limit[0] <= s.magnitude <= limit[1]:
            out.append(Violation(f"{side}.{ch}.magnitude", f"{s.magnitude} outside {limit[0]}..{limit[1]}"))


def check_combatant(side: str, c: Combatant) -> list[Violation]:
    """The format's ranges for one combatant, its fields named `side.field`."""
    out: list[Violation] = []
    if not 1 <= c.max_hp <= MAX_VALUE:
        out.append(Violation(f"{side}.max_hp", f"{c.max_hp} outside 1..{MAX_VALUE}"))
    for name in ("power", "armor"):
        if not 0 <= getattr(c, name) <= MAX_VALUE:
            out.append(Violation(f"{side}.{name}", f"{getattr(c, name)} outside 0..{MAX_VALUE}"))
    _range_checks(side, c, out)
    return out


def check_state(state: CombatState) -> list[Violation]:
    """Invariants of any single state (used on inputs and loaded saves)."""
    out: list[Violation] = []
    if not 0 <= state.turn <= MAX_TURN:
        out.append(Violation("turn", f"{state.turn} outside 0..{MAX_TURN}"))
    for side, c in (("A", state.actor), ("B", state.target)):
        out += check_combatant(side, c)
    return out


def check_transition(prev: CombatState, action: str, nxt: CombatState) -> list[Violation]:
    """Invariants a proposed next state must satisfy, whatever the roll."""
    out = check_state(nxt)
    want_turn = min(prev.turn + 1, MAX_TURN)
    if nxt.turn != want_turn:
        out.append(Violation("turn", f"{nxt.turn}, expected {want_turn} (advances by one)"))
    for side, role, before, after in (("A", "actor", prev.actor, nxt.actor),
                                      ("B", "target", prev.target, nxt.target)):
        for name in ("max_hp", "power", "armor"):
            if getattr(before, name) != getattr(after, name):
                out.append(Violation(f"{side}.{name}", "never changes in combat"))
        for ch in CHANNELS:
            was, now = before.status(ch), after.status(ch)
            if now is None:
                continue
            caused = action in _CAUSES.get((role, ch), frozenset())
            if was is None and not caused:
                out.append(Violation(f"{side}.{ch}", f"appeared without a cause ({action} cannot apply it)"))
            elif was is not None and now.turns > was.turns and not caused:
                out.append(Violation(f"{side}.{ch}.turns", "grew without a cause"))
        if role == "target":
            if after.hp > before.hp:
                out.append(Violation("B.hp", "the target cannot gain hp"))
            if after.cooldowns != before.cooldowns:
                out.append(Violation("B.cd", "the target's cooldowns only tick on its own turn"))
        else:
            if after.hp > before.hp and action not in _HEALS and not before.has("regen"):
                out.append(Violation("A.hp", f"rose without heal, wait or regen ({action})"))
            for slot, b, a in zip(SLOTS, before.cooldowns, after.cooldowns, strict=False):
                if before.hp > 0 and slot != action and a != max(b - 1, 0):
                    out.append(Violation(f"A.cd.{slot}", f"{a}, expected {max(b - 1, 0)} (ticks down by one)"))
    if prev.actor.hp == 0 and (nxt.actor != prev.actor or nxt.target != prev.target):
        out.append(Violation("A.hp", "a downed actor changes nothing"))
    return out


def flatten(state: CombatState) -> dict[str, int | None]:
    """Every field of a state by its dotted name, as the diff and debug pane show them."""
    flat: dict[str, int | None] = {"turn": state.turn}
    for side, c in (("A", state.actor), ("B", state.target)):
        flat[f"{side}.hp"] = c.hp
        for slot, v in zip(SLOTS, c.cooldowns, strict=False):
            flat[f"{side}.cd.{slot}"] = v
        for ch in CHANNELS:
            s = c.status(ch)
            if ch != "stun":
                flat[f"{side}.{ch}.magnitude"] = s.magnitude if s else None
            flat[f"{side}.{ch}.turns"] = s.turns if s else None
    return flat


@dataclass(frozen=True, slots=True)
class FieldDiff:
    field: str
    left: int | None
    right: int | None


def diff(left: CombatState, right: CombatState) -> list[FieldDiff]:
    a, b = flatten(left), flatten(right)
    return [FieldDiff(k, a[k], b[k]) for k in a if a[k] != b[k]]


# Rules that can move each kind of field; the debug pane names the ones that fired.
_FIELD_RULES: dict[str, frozenset[str]] = {
    "turn": frozenset({"actor_down"}),
    "A.hp": frozenset({"heal_restores", "poison_sours_heal", "wait_recovers", "thorns_reflect",
                       "poison_tick", "burn_tick", "headroom", "regen_tick", "poison_blocks_regen", "fatigue",
                       "actor_slain"}),
    "B.hp": frozenset({"hit", "critical_hit", "fragile_amplifies", "armor_reduces",
                       "shield_absorbs", "damage_dealt", "target_slain", "attack_misses"}),
    "A.cd": frozenset({"cooldown_blocks", "cooldown_ready", "stunned_action_lost"}),
    "A.status": frozenset({"shield_gained", "thorns_gained", "regen_gained", "cleanse_removes",
                           "status_expires", "stunned_action_lost"}),
    "B.status": frozenset({"shield_absorbs", "shield_breaks", "shield_left", "poison_applied", "burn_applied",
                           "fragile_applied", "ignite_strips_regen", "shatter_stuns", "attack_misses"}),
}


def involved_rules(field: str, events: tuple[Event, ...] | list[Event]) -> list[str]:
    """The fired rules that could have moved `field` (e.g. 'B.hp' -> damage_dealt ...)."""
    side = field.split(".")[0]
    if field.endswith(".hp") or field == "turn":
        key = field
    elif ".cd." in field:
        key = f"{side}.cd"
    else:
        key = f"{side}.status"
    wanted = _FIELD_RULES.get(key, frozenset())
    return [e.rule for e in events if e.rule in wanted]
