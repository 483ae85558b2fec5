"""long: turns whose whole sequence (prompt and answer) is LONG tokens or more, the lengths where narrow models
broke (41% wrong at 220+ tokens, 0.6% below 200)."""

from __future__ import annotations

import random

from brain.data import LONG, long_example
from brain.suites.registry import Suite, register
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case


def draw_long(rng: random.Random, rules: Ruleset) -> Case:
    """The case of a training draw of --long (brain.data.long_example): the suite measures what gen trains."""
    return long_example(rng, rules).case


register(Suite("long", f"turns of {LONG} tokens or more (crowded boards writing many events)", draw=draw_long))
