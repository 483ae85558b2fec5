"""ood: turns beyond the loaded model's declared envelope, drawn from the whole format.

The gated path must answer every one with a fallback (the guard); `unguarded` says what the bare model would
have answered, which is why the guard exists (docs/evaluation.md). A model whose envelope is the whole format
has (nearly) nothing beyond it: the suite then says how many of its draws it found.
"""

from __future__ import annotations

import random

from brain.suites.records import judge
from brain.suites.registry import Run, Suite, register
from game.combat.envelope import Envelope
from game.combat.judge import judge_answer
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case, sample_wide


def ood_cases(env: Envelope, n: int, seed: int, rules: Ruleset, tries: int = 50) -> list[Case]:
    """Up to n draws of the whole format (sampler.sample_wide) with a field beyond `env` (n * tries draws)."""
    rng = random.Random(f"ood:{seed}")
    out: list[Case] = []
    for _ in range(n * tries):
        if len(out) == n:
            break
        state, _, roll = sample_wide(rng, rules)
        case = (state, rng.choice(sorted(env.actions)), roll)
        if env.outside(case) is not None:
            out.append(case)
    return out


def run(r: Run) -> dict:
    result: dict = {"models": {}}
    records = r.records["ood"] = []
    for name, env, resolver in getattr(r.resolver, "envelopes", lambda: [])():
        cases = ood_cases(env, r.n, r.seed, r.rules)
        judged = judge(resolver, cases, r.rules)
        records += judged
        right = 0
        for rec in judged:  # what the bare model writes for the same turns, the guard aside
            text = resolver.answer(rec.case)
            right += judge_answer(resolver.name, rec.case[0], rec.case[1], text, 0.0).next_state == rec.truth
        result["models"][name] = {"n": len(cases), "drawn": r.n * 50,
                                  "fallbacks": sum(rec.answer.declined for rec in judged),
                                  "silent": sum(not rec.answer.declined for rec in judged),
                                  "unguarded_exact": right / len(cases) if cases else None}
    result["n"] = len(records)
    result["silent"] = sum(m["silent"] for m in result["models"].values())
    return result


register(Suite("ood", "draws of the whole format beyond the loaded model's envelope: all fallbacks", run=run))
