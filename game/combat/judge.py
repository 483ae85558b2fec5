"""The judge: every answer to a combat turn becomes a Resolution, checked the same way whoever wrote it.

`RulesResolver` is the ground truth; `judge_answer` turns any resolver's text into a Resolution (a malformed
answer or a broken invariant becomes an error); `resolve_blocks` answers input blocks as `rpg-brain resolve`
does, refusing what the legal state (game.combat.envelope.check_case) refuses, with the field's column.
A resolver that is not the rules (brain's models) implements `Resolver` and is judged by `judge_answer`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from game.combat.envelope import OUTSIDE, Case, check_case
from game.combat.format import FormatError, encode_answer, parse_answer, parse_input
from game.combat.rules import Event, resolve
from game.combat.ruleset import Ruleset
from game.combat.state import CombatState
from game.combat.validate import check_transition


@dataclass(frozen=True)
class Resolution:
    """One resolved turn: the next state, or an error saying why there is none."""

    resolver: str
    raw: str  # the text the resolver produced (derivation | next-state block)
    next_state: CombatState | None = None
    events: tuple[Event, ...] | None = None
    error: str | None = None
    latency_ms: float = 0.0
    decode: str = ""  # how the model decoded it (calls, drafted and accepted tokens); the debug pane shows it
    stale: bool = False  # from a model loaded although stale (--allow-stale): every answer says so

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def declined(self) -> bool:
        """The model was not asked: the turn lies outside its envelope (the rules resolve it; not a divergence)."""
        return self.error is not None and self.error.startswith(OUTSIDE)


class Resolver(Protocol):
    name: str

    def resolve_batch(self, cases: Sequence[Case]) -> list[Resolution]: ...


def judge_answer(resolver: str, state: CombatState, action: str, text: str,
                 latency_ms: float) -> Resolution:
    """Turn a produced answer into a Resolution: unparsable or impossible answers become errors."""
    try:
        events, nxt = parse_answer(text, state)
    except FormatError as exc:
        return Resolution(resolver, text, error=f"malformed answer: {exc}", latency_ms=latency_ms)
    problems = check_transition(state, action, nxt)
    if problems:
        return Resolution(resolver, text, nxt, events,
                          error="invariant broken: " + "; ".join(map(str, problems)),
                          latency_ms=latency_ms)
    return Resolution(resolver, text, nxt, events, latency_ms=latency_ms)


class RulesResolver:
    name = "rules"

    def __init__(self, rules: Ruleset) -> None:
        self.rules = rules

    def resolve_one(self, state: CombatState, action: str, roll: int) -> Resolution:
        start = time.perf_counter()
        problem = check_case(state, action, roll, self.rules)
        if problem:
            return Resolution(self.name, "", error=problem)
        outcome = resolve(state, action, roll, self.rules)
        ms = (time.perf_counter() - start) * 1000
        return Resolution(self.name, encode_answer(outcome.events, outcome.next_state),
                          outcome.next_state, outcome.events, latency_ms=ms)

    def resolve_batch(self, cases: Sequence[Case]) -> list[Resolution]:
        return [self.resolve_one(*case) for case in cases]


def resolve_blocks(resolver: Resolver, blocks: Sequence[str], rules: Ruleset) -> list[Resolution]:
    """Resolve input blocks; a block that does not parse gets an error Resolution, in place."""
    out: list[Resolution | None] = [None] * len(blocks)
    todo: list[tuple[int, Case]] = []
    for i, block in enumerate(blocks):
        columns: dict[str, int] = {}
        try:
            case = parse_input(block, columns)
        except FormatError as exc:
            out[i] = Resolution(resolver.name, "", error=f"malformed input: {exc}")
            continue
        problem = check_case(*case, rules)
        if problem:
            field = problem.removeprefix("field ").split(":")[0]
            where = f"column {columns[field]}, " if problem.startswith("field ") and field in columns else ""
            out[i] = Resolution(resolver.name, "", error=f"unresolvable input: {where}{problem}")
        else:
            todo.append((i, case))
    for (i, _), res in zip(todo, resolver.resolve_batch([c for _, c in todo]), strict=False):
        out[i] = res
    return [r for r in out if r is not None]
