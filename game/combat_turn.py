"""One combat turn through the resolvers: active answer, shadow answer, fallback, divergence.

Pure Python, shared by the TUI and the headless arena. The rules always
answer (microseconds); the model answers when it is loaded, whichever
resolver is active (the shadow comparison). The model's raw text is judged
again here with the one parser (game.combat.judge.judge_answer), so a resolver that
returns garbage cannot slip a bad state into the game. The model gets a time
limit; past it the rules answer is applied and the turn is a fallback, and
until that call returns the model gets no other (one worker per model, never a pile).
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from dataclasses import dataclass, field, replace

from game.combat.format import encode_input
from game.combat.judge import Resolution, Resolver, RulesResolver, judge_answer
from game.combat.state import CombatState
from game.combat.validate import FieldDiff, diff, involved_rules


@dataclass
class TurnReport:
    """Everything the debug pane, the message log and the play log need about one turn."""

    state: CombatState
    action: str
    roll: int
    input: str
    active: str  # "rules", "model" or "experts" (game.resolve.RESOLVERS)
    rules: Resolution
    model: Resolution | None  # None when no model is loaded
    applied: Resolution
    fallback: str | None = None  # why the model's answer was not applied
    diffs: list[FieldDiff] = field(default_factory=list)  # model versus rules, field by field
    who: str = ""  # "you -> orc": a label for the debug pane

    @property
    def diverged(self) -> bool:
        """The model answered and disagreed with the rules (a different state, or an unusable answer); a turn
        outside its envelope was not asked of it, so it is no divergence (a fallback when the model is active)."""
        return self.model is not None and not self.model.declined and (not self.model.ok or bool(self.diffs))

    @property
    def model_latency_ms(self) -> float | None:
        return self.model.latency_ms if self.model is not None else None

    @property
    def tag(self) -> str:
        if self.fallback:
            return "[fallback]"
        if self.diverged:
            return "[diverged]"
        return f"[{self.active}]"

    def involved(self) -> dict[str, list[str]]:
        """For each differing field, the rules (from the rules' events) that could have moved it."""
        events = self.rules.events or ()
        return {d.field: involved_rules(d.field, events) for d in self.diffs}


# The one worker each model may have. A call that timed out keeps running (Python cannot stop a
# thread), so the next turn must not start another beside it: threads would pile up, each spinning.
_workers: weakref.WeakKeyDictionary[object, threading.Thread] = weakref.WeakKeyDictionary()


def _call_model(model: Resolver, state: CombatState, action: str, roll: int,
                time_limit_s: float) -> Resolution:
    """The model's answer, judged; an error Resolution on exception, timeout, or while a timed-out call still runs."""
    box: list[Resolution | BaseException] = []

    def work() -> None:
        try:
            box.append(model.resolve_batch([(state, action, roll)])[0])
        except BaseException as exc:  # a crashing model must not take the game down
            box.append(exc)

    start = time.perf_counter()
    name = getattr(model, "name", "model")
    try:
        previous = _workers.get(model)
    except TypeError:  # a resolver that cannot be weakly referenced or hashed: one thread per call, as before
        previous = None
    if previous is not None and previous.is_alive():
        previous.join(time_limit_s)  # a slow call may still finish inside this turn's limit
        if previous.is_alive():
            ms = (time.perf_counter() - start) * 1000
            return Resolution(name, "", error="timeout: model busy, an earlier call has not returned", latency_ms=ms)
    # A daemon thread: a hung model cannot keep the game from exiting.
    worker = threading.Thread(target=work, name="model-turn", daemon=True)
    with contextlib.suppress(TypeError):
        _workers[model] = worker
    worker.start()
    worker.join(max(0.0, time_limit_s - (time.perf_counter() - start)))
    ms = (time.perf_counter() - start) * 1000
    if not box:
        return Resolution(name, "", error=f"timeout: no answer within {time_limit_s * 1000:.0f} ms", latency_ms=ms)
    got = box[0]
    if isinstance(got, BaseException):
        return Resolution(name, "", error=f"model error: {type(got).__name__}: {got}", latency_ms=ms)
    if not isinstance(got, Resolution) or not isinstance(got.raw, str):
        return Resolution(name, "", error=f"model returned {type(got).__name__}, not a Resolution", latency_ms=ms)
    decode, stale = getattr(got, "decode", ""), getattr(got, "stale", False)
    if got.error:
        return Resolution(name, got.raw, error=got.error, latency_ms=ms, decode=decode, stale=stale)
    return replace(judge_answer(name, state, action, got.raw, ms), decode=decode, stale=stale)


def resolve_turn(state: CombatState, action: str, roll: int, rules: RulesResolver,
                 model: Resolver | None, active: str, time_limit_s: float = 2.0) -> TurnReport:
    """Resolve with the active resolver and the other one; apply the rules answer on any model failure.

    `model` is the learned resolver loaded (the single model or the experts); it answers whenever it is
    loaded, and its answer is applied when `active` is not "rules"."""
    rules_res = rules.resolve_one(state, action, roll)
    if not rules_res.ok:  # the game built an impossible state: a bug, not a model problem
        raise ValueError(f"rules cannot resolve {encode_input(state, action, roll)!r}: {rules_res.error}")
    model_res = _call_model(model, state, action, roll, time_limit_s) if model is not None else None
    applied, fallback, diffs = rules_res, None, []
    if model_res is not None and model_res.next_state is not None:
        diffs = diff(model_res.next_state, rules_res.next_state)
    if active != "rules":
        if model_res is None:
            fallback = "model not loaded"
        elif not model_res.ok:
            fallback = model_res.error
        else:
            applied = model_res
    return TurnReport(state, action, roll, encode_input(state, action, roll), active, rules_res,
                      model_res, applied, fallback, diffs)


def playlog_record(report: TurnReport, seed: int, ruleset_id: str, format_version: int) -> dict:
    """The play-log line for one turn (fields documented in docs/game.md)."""
    from game.playlog import PLAYLOG_VERSION

    return {
        "playlog_version": PLAYLOG_VERSION,
        "format_version": format_version,
        "ruleset": ruleset_id,
        "seed": seed,
        "turn": report.state.turn,
        "input": report.input,
        "model_answer": report.model.raw if report.model is not None else None,
        "model_error": report.model.error if report.model is not None else None,
        "rules_answer": report.rules.raw,
        "applied_answer": report.applied.raw,
        "active": report.active,
        "fallback": report.fallback,
        "diverged": report.diverged,
        "model_stale": report.model.stale if report.model is not None else None,
        "latency_ms": round(report.model.latency_ms, 3) if report.model is not None else None,
        "rules_latency_ms": round(report.rules.latency_ms, 4),
    }
