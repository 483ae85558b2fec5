"""ood: values beyond the training ranges (up to twice the maximum seen, within the format)."""

from __future__ import annotations

import random

from brain.suites import Run, Suite, register
from brain.suites.records import judge
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case, Ranges, sample_iid
from game.resolve import check_case


def ood_cases(n: int, seed: int, rules: Ruleset) -> list[Case]:
    """Cases with at least one value beyond the training ranges (and that the format can still write)."""
    base, wide = Ranges(), Ranges().doubled()
    rng = random.Random(f"ood:{seed}")
    out: list[Case] = []
    while len(out) < n:
        case = sample_iid(rng, rules, wide)
        state = case[0]
        beyond = (state.turn > base.turn
                  or any(c.max_hp > base.max_hp or c.power > base.power or c.armor > base.armor
                         or any(v > base.cooldown for v in c.cooldowns)
                         or any(s.turns > base.duration for _, s in c.active())
                         for c in (state.actor, state.target)))
        if beyond and check_case(*case, rules) is None:
            out.append(case)
    return out



def run(r: Run) -> dict:
    from brain.evaluate import evaluate

    cases = ood_cases(r.n, r.seed, r.rules)
    out = evaluate(r.cached, cases, r.rules)
    r.records["ood"] = judge(r.cached, cases, r.rules)
    return out


register(Suite("ood", "values beyond the training ranges, up to twice the largest seen", run=run))
