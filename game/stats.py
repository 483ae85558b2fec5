"""A run's combat statistics: turns, divergences and fallbacks per resolver, model latency, and the notable
turns (every divergence and fallback) kept for the debug pane to step through."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from game.combat_turn import TurnReport
from game.measure import percentile

NOTABLE_KEPT = 200  # divergences and fallbacks the debug pane can step back through (the play log has them all)


@dataclass
class Tally:
    """One resolver's share of a run. `turns`: combat turns applied while it was the active resolver;
    `answered`: turns a learned resolver answered (active or in the shadow); `divergences`: of those, the
    ones it disagreed with the rules on; `fallbacks`: turns it was active but the rules' answer was applied."""

    turns: int = 0
    answered: int = 0
    divergences: int = 0
    fallbacks: int = 0

    def to_json(self) -> dict[str, int]:
        return {"turns": self.turns, "answered": self.answered, "divergences": self.divergences,
                "fallbacks": self.fallbacks}


@dataclass
class Stats:
    combat_turns: int = 0
    divergences: int = 0
    fallbacks: Counter = field(default_factory=Counter)  # short reason -> count
    latencies: deque = field(default_factory=lambda: deque(maxlen=2000))  # model ms, of the turns it answered
    declined: int = 0  # turns the learned resolver sat out, outside its envelope (this session's, like latencies)
    kills: int = 0
    by_resolver: dict[str, Tally] = field(default_factory=dict)  # "rules" / "model" / "experts" -> its tally
    notable: deque = field(default_factory=lambda: deque(maxlen=NOTABLE_KEPT))  # diverged or fallback turns

    def tally(self, name: str) -> Tally:
        return self.by_resolver.setdefault(name, Tally())

    def record(self, report: TurnReport, learned: str | None = None) -> None:
        """Count one turn; `learned` names the learned resolver that answered it (model or experts), if any."""
        self.combat_turns += 1
        self.divergences += report.diverged
        self.tally(report.active).turns += 1
        if report.fallback:
            self.fallbacks[report.fallback.split(":")[0]] += 1
            self.tally(report.active).fallbacks += 1
        if report.model is not None and report.model.declined:
            self.declined += 1
        elif report.model is not None:
            self.latencies.append(report.model.latency_ms)
            mine = self.tally(learned or report.active)
            mine.answered += 1
            mine.divergences += report.diverged
        if report.diverged or report.fallback:
            self.notable.append(report)

    def latency(self) -> tuple[float, float] | None:
        """Mean and p95 of model latency in ms, or None before the first model answer."""
        if not self.latencies:
            return None
        xs = list(self.latencies)
        return sum(xs) / len(xs), percentile(xs, 0.95)
