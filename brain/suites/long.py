"""long: turns whose whole sequence (prompt and answer) is LONG tokens or more, the lengths where narrow models
broke (41% wrong at 220+ tokens, 0.6% below 200)."""

from __future__ import annotations

import random

from brain.data import LONG, label, sequence_tokens
from brain.suites.registry import Suite, register
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case, sample_lengthy


def draw_long(rng: random.Random, rules: Ruleset) -> Case:
    """A lengthy turn (sampler.sample_lengthy) of LONG tokens or more: about one draw in seven is."""
    while True:
        case = sample_lengthy(rng, rules)
        if sequence_tokens(label(case, rules)) >= LONG:
            return case


register(Suite("long", f"turns of {LONG} tokens or more (crowded boards writing many events)", draw=draw_long))
