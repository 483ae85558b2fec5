"""order: one state under every action, and the same turn with its status channels listed in another order."""

from __future__ import annotations

import random

from brain.suites.records import judge
from brain.suites.registry import Run, Suite, register
from game.combat.format import CHANNEL_LABELS, encode_input
from game.combat.judge import Resolution, Resolver
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case, sample_iid
from game.combat.state import ACTIONS


def order_cases(n: int, seed: int, rules: Ruleset) -> tuple[list[Case], list[str]]:
    """n states under every action, plus each with its status channels written in reverse order."""
    rng = random.Random(f"order:{seed}")
    cases, tags = [], []
    for i in range(n):
        state, _, roll = sample_iid(rng, rules)
        for action in ACTIONS:
            cases.append((state, action, roll))
            tags.append(f"state{i}:action:{action}")
    return cases, tags


def reversed_status_block(case: Case) -> str:
    """The same input with each side's status channels in reverse canonical order (still valid input)."""
    block = encode_input(*case)
    head, _, tail = block.partition(" do ")
    sides = head.split(" B ")
    fixed = []
    for side in sides:
        parts = side.split(" ")
        statuses = [p for p in parts if p[:2] in CHANNEL_LABELS.values() and p[2:3].isdigit()]
        rest = [p for p in parts if p not in statuses]
        fixed.append(" ".join(rest + statuses[::-1]))
    return " B ".join(fixed) + " do " + tail


def _text_answers(resolver: Resolver, blocks: list[str], cases: list[Case]) -> list[Resolution]:
    """Answers to input texts as written (non-canonical order included), judged like the game judges."""
    from game.combat.judge import judge_answer

    engine = getattr(resolver, "engine", None)
    if engine is None:  # a resolver that only takes parsed cases cannot see the order at all
        return resolver.resolve_batch(cases)
    texts = engine.generate(blocks)
    return [judge_answer(resolver.name, s, a, t, 0.0) for (s, a, _), t in zip(cases, texts, strict=True)]



def run(r: Run) -> dict:
    from brain.suites.score import evaluate

    cases, tags = order_cases(max(r.n // len(ACTIONS), 1), r.seed, r.rules)
    out = evaluate(r.cached, cases, r.rules)
    records = r.records["order"] = judge(r.cached, cases, tags=tags, rules=r.rules)
    reordered = [reversed_status_block(c) for c in cases]
    again = _text_answers(r.resolver, reordered, cases)
    same = sum(a.raw == r.cached.cache[c].raw for a, c in zip(again, cases, strict=True))
    truth = [rec.truth for rec in records]
    right = sum(a.ok and a.next_state == t for a, t in zip(again, truth, strict=True))
    out["status_reversed_exact"] = right / len(cases)
    out["status_reversed_agreement"] = same / len(cases)
    per_state: dict[str, bool] = {}
    for rec in records:
        key = rec.tag.split(":")[0]
        per_state[key] = per_state.get(key, True) and rec.exact
    out["all_actions_right_share"] = sum(per_state.values()) / max(len(per_state), 1)
    return out


register(Suite("order", "one state under every action; status channels written in reverse order", run=run))
