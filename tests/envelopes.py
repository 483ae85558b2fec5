"""Synthetic model envelopes for the content tests: what content is checked against, without a trained model
(the shipped model's envelope changes when a model is shipped; these do not)."""

from __future__ import annotations

from game.combat.envelope import FIELDS, Envelope
from game.combat.state import ACTIONS, MAX_DIGIT, MAX_TURN, MAX_VALUE


def envelope(hp: int = MAX_VALUE, power: int = 90, armor: int = MAX_VALUE, magnitude: int = MAX_VALUE,
             duration: int = MAX_DIGIT, cooldown: int = MAX_DIGIT, shield: int = MAX_VALUE,
             turn: int = MAX_TURN, actions=ACTIONS) -> Envelope:
    """An envelope with these highs on both sides (lows as a sampler draws them): the defaults are the whole
    format, as the wide model declares it."""
    bounds = {"turn": (0, turn), "roll": (1, 6), "statuses": (0, 14)}
    for side in ("A", "B"):
        bounds |= {f"{side}.max_hp": (1, hp), f"{side}.hp": (0 if side == "A" else 1, hp),
                   f"{side}.power": (0, power), f"{side}.armor": (0, armor), f"{side}.cd": (0, cooldown),
                   f"{side}.statuses": (0, 7)}
        for name in FIELDS:
            if name.startswith(f"{side}.") and name.count(".") == 2:
                kind = name.split(".")[2]
                high = duration if kind == "turns" else shield if name.split(".")[1] == "shield" else magnitude
                bounds[name] = (1, high)
    return Envelope(bounds, frozenset(actions), 120, "test", 1, "rs-test")


WIDE = envelope()
# the narrow sampler's bounds, as a model trained on it records them (the default until format 2 landed)
NARROW = envelope(hp=48, power=9, armor=4, magnitude=4, duration=4, cooldown=4, shield=12)
