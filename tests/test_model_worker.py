"""A model that hangs gets one worker thread, never one per turn (issue 13, item 11)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from game.combat.judge import Resolution, RulesResolver
from game.combat.sampler import sample
from game.combat_turn import _call_model


class HangingModel:
    """Blocks every call until released, then answers like the rules."""

    name = "fake-hanging"

    def __init__(self, rules) -> None:
        self.inner, self.release, self.calls = RulesResolver(rules), threading.Event(), 0

    def resolve_batch(self, cases: Sequence) -> list[Resolution]:
        self.calls += 1
        self.release.wait(10)
        return self.inner.resolve_batch(cases)


def _model_threads() -> int:
    return sum(t.name == "model-turn" and t.is_alive() for t in threading.enumerate())


def test_a_timed_out_model_gets_no_second_thread_until_it_returns(rules):
    model = HangingModel(rules)
    cases = sample("iid", 6, 4, rules)
    before = _model_threads()
    first = _call_model(model, *cases[0], time_limit_s=0.05)
    assert first.error.startswith("timeout: no answer")
    for case in cases[1:5]:  # every later turn while the first call still hangs
        res = _call_model(model, *case, time_limit_s=0.02)
        assert res.error == "timeout: model busy, an earlier call has not returned"
        assert _model_threads() == before + 1
    assert model.calls == 1
    model.release.set()
    deadline = time.monotonic() + 5
    while _model_threads() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    res = _call_model(model, *cases[5], time_limit_s=2.0)  # returned: the model is asked again
    assert res.ok and model.calls == 2


def test_a_slow_call_that_finishes_within_the_next_limit_is_waited_for(rules):
    model = HangingModel(rules)
    cases = sample("iid", 2, 5, rules)
    assert _call_model(model, *cases[0], time_limit_s=0.02).error.startswith("timeout: no answer")
    threading.Timer(0.05, model.release.set).start()
    assert _call_model(model, *cases[1], time_limit_s=2.0).ok and model.calls == 2
