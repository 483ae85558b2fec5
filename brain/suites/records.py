"""Judged cases: the truth beside what a resolver said, and a cache so every suite and metric shares one answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from game.combat.judge import Resolution, Resolver
from game.combat.rules import Event, resolve
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case
from game.combat.state import CombatState
from game.combat.validate import diff, flatten

Answers = Callable[[list[str]], list[str | None]]


@dataclass(frozen=True)
class Record:
    """One judged case: the truth and what the resolver said."""

    case: Case
    truth: CombatState
    events: tuple[Event, ...]
    answer: Resolution
    tag: str = ""  # suite-specific label (variant, perturbation kind, chain step)

    @property
    def exact(self) -> bool:
        return self.answer.ok and self.answer.next_state == self.truth

    @property
    def wrong_fields(self) -> list[str]:
        if self.answer.next_state is None:
            return list(flatten(self.truth))
        return [d.field for d in diff(self.truth, self.answer.next_state)]


def judge(resolver: Resolver, cases: Sequence[Case], rules: Ruleset, tags: Sequence[str] | None = None) -> list[Record]:
    answers = resolver.resolve_batch(list(cases))
    out = []
    for i, (case, res) in enumerate(zip(cases, answers, strict=False)):
        o = resolve(*case, rules)
        out.append(Record(case, o.next_state, o.events, res, tags[i] if tags else ""))
    return out


def summary(records: Sequence[Record]) -> dict[str, float | int]:
    n = len(records)
    return {
        "n": n,
        "exact_match": sum(r.exact for r in records) / max(n, 1),
        "parse_failures": sum(1 for r in records if r.answer.error and r.answer.error.startswith("malformed")),
        "invariant_failures": sum(1 for r in records if r.answer.error and r.answer.error.startswith("invariant")),
    }


class CachingResolver:
    """Answers each case once, so the evaluation tables and the metrics share one decoding pass."""

    def __init__(self, inner: Resolver) -> None:
        self.inner, self.name = inner, inner.name
        self.cache: dict[Case, Resolution] = {}

    def resolve_batch(self, cases: Sequence[Case]) -> list[Resolution]:
        todo = list(dict.fromkeys(c for c in cases if c not in self.cache))
        for case, res in zip(todo, self.inner.resolve_batch(todo) if todo else [], strict=True):
            self.cache[case] = res
        return [self.cache[c] for c in cases]
