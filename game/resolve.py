"""Resolvers: who decides the next state of a combat turn.

`RulesResolver` is the ground truth. The model resolver lives in brain/ and is
reached only through `load_model_resolver`, imported lazily, so rules-only
play never imports torch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from game.combat.envelope import OUTSIDE, check_case
from game.combat.format import FormatError, encode_answer, parse_answer, parse_input
from game.combat.rules import Event, resolve
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case
from game.combat.state import CombatState
from game.combat.validate import check_transition

# The resolvers a game can play with, in the order the m key cycles them.
RESOLVERS: tuple[str, ...] = ("rules", "model", "experts")


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


def load_model_resolver(model_dir: Path | None, rules: Ruleset, allow_stale: bool = False) -> Resolver:
    """The one door from the game into brain/: imported only when the model is asked for.

    Raises ModelLoadError (a ValueError) with a clear message when the model is missing, corrupt, or stale
    (trained on another ruleset, or on data another version of its sampler drew), unless `allow_stale`:
    then every answer is marked stale.
    """
    from brain.engine import ModelResolver  # lazy: keeps torch out of rules-only play

    return ModelResolver.load(model_dir, rules, allow_stale=allow_stale)


def load_experts_resolver(experts_dir: Path, rules: Ruleset, allow_stale: bool = False) -> Resolver:
    """The same door for the composed resolver (brain/experts.py): a router and one small model per route.

    Raises ModelLoadError when the directory is bad or an expert is stale (the message names it and the
    constant or sampler that changed), unless `allow_stale`.
    """
    from brain.experts import ExpertsResolver  # lazy, as above

    return ExpertsResolver.load(experts_dir, rules, allow_stale=allow_stale)
