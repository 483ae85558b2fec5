"""The registry of suites: `Suite`, the shared `Run`, `register`, `held_out` and the held-out suites that need
only the core's sampler (iid, edge, wide, crowded). brain/suites/__init__.py imports the other suite modules,
each of which registers itself here."""


from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from brain.data import split_of
from brain.suites.records import Answers, CachingResolver, Record, judge
from game.combat.format import encode_input
from game.combat.judge import Resolver
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case, sample_crowded, sample_edge, sample_iid, sample_wide

EVAL_SEED = 20261125  # training seeds are small integers; this one is never used for training


@dataclass
class Run:
    """One evaluation pass over some suites: what they share (one decoding of each case, the judged records)."""

    resolver: Resolver
    rules: Ruleset
    n: int = 1000
    seed: int = EVAL_SEED
    ungated_answer: Answers | None = None  # perturb: the model's answer to a block as written (no parser)
    raw_answer: Answers | None = None  # perturb: the bare model writing the format itself
    chains: int = 10
    chain_turns: int = 50
    cached: CachingResolver = field(init=False)
    records: dict[str, list[Record]] = field(default_factory=dict)  # suite -> judged cases (the metrics read them)

    def __post_init__(self) -> None:
        self.cached = CachingResolver(self.resolver)


@dataclass(frozen=True)
class Suite:
    name: str
    about: str
    draw: Callable[[random.Random, Ruleset], Case] | None = None  # a held-out suite
    run: Callable[[Run], dict] | None = None  # a failure-first suite

    def results(self, run: Run) -> dict:
        """This suite's figures within `run` (a held-out suite: brain.evaluate.evaluate of its cases)."""
        if self.run is not None:
            return self.run(run)
        from brain.suites.score import evaluate

        cases = held_out(self.name, run.n, run.rules, run.seed)
        result = evaluate(run.cached, cases, run.rules)
        run.records[self.name] = judge(run.cached, cases, run.rules)
        return result


SUITES: dict[str, Suite] = {}


def register(suite: Suite) -> Suite:
    SUITES[suite.name] = suite
    return suite


def held_out(suite: str, n: int, rules: Ruleset, seed: int = EVAL_SEED) -> list[Case]:
    """n cases of a held-out suite whose input blocks hash to the test split."""
    draw = SUITES[suite].draw if suite in SUITES else None
    if draw is None:
        known = [s.name for s in SUITES.values() if s.draw is not None]
        raise ValueError(f"unknown suite {suite!r}; expected one of {', '.join(known)}")
    rng = random.Random(f"eval:{suite}:{seed}")
    out: list[Case] = []
    while len(out) < n:
        case = draw(rng, rules)
        if split_of(encode_input(*case)) == "test":
            out.append(case)
    return out


register(Suite("iid", "the narrow sampler's plain draws (sampler.sample_iid; the shipped model's envelope)",
               draw=sample_iid))
register(Suite("edge", "deliberate edges: hp 0/1/max, last-turn statuses, stun, cooldowns, lethal hits",
               draw=sample_edge))
register(Suite("wide", "the whole format, uniformly (sampler.sample_wide)", draw=sample_wide))
register(Suite("crowded", "crowded boards: 9 to 14 of the 14 status channels (sampler.sample_crowded)",
               draw=sample_crowded))
