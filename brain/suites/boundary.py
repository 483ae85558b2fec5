"""boundary: the wide sampler's uniform turns that sit on a boundary (brain.data.on_boundary): a heal, wait or
regen tick that stops at max hp, or a shield within one point of the hit. Nearly all of the wide model's wrong
answers are turns like these, most of them wrong by one point (docs/brain.md, "The wide run on the CPU")."""

from __future__ import annotations

import random

from brain.data import on_boundary
from brain.suites.registry import Suite, register
from game.combat.rules import resolve
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case, sample_wide


def draw_boundary(rng: random.Random, rules: Ruleset) -> Case:
    """A uniform wide turn on a boundary: about one draw in ten is."""
    while True:
        case = sample_wide(rng, rules)
        if on_boundary(case, resolve(*case, rules).events):
            return case


register(Suite("boundary", "the whole format's turns at a cap or a shield's edge (brain.data.on_boundary)",
               draw=draw_boundary))
