"""Combat core: state, rules, the canonical format, validation. Pure Python."""

from game.combat.rules import Event, Outcome, resolve
from game.combat.ruleset import Ruleset
from game.combat.state import ACTIONS, CHANNELS, SLOTS, Combatant, CombatState, Status

__all__ = [
    "ACTIONS", "CHANNELS", "SLOTS", "CombatState", "Combatant", "Event", "Outcome",
    "Ruleset", "Status", "resolve",
]
