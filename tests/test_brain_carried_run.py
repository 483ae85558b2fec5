"""The wide run carried between sessions (docs/brain.md, "The wide run on the CPU"): what is committed resumes.

The checkpoint is committed so that the next session continues it; these checks fail the day it could not:
a rule or sampler change makes it stale (retrain it, or delete the directory and say so in docs/brain.md),
a partial copy leaves the weights and the optimizer state at different steps, a continued run copied back
without a fresh eval carries figures that are not its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brain.checkpoint import load_model, load_optimizer, model_envelope, read_config, stale_reason
from brain.train import TrainConfig, make_optimizer, recipe_of

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "brain" / "checkpoints" / "wide"


@pytest.mark.skipif(not RUN.is_dir(), reason=f"no carried run at {RUN}")
def test_the_carried_run_is_current_and_resumable(rules):
    model, _, config = load_model(RUN, rules.ruleset_id)  # the weights' sha256 is checked on load
    envelope = model_envelope(config, RUN)
    assert stale_reason(envelope, rules.ruleset_id) is None, "stale: retrain it or delete it (docs/brain.md)"
    assert envelope.sampler == "wide"
    recipe = recipe_of(RUN, TrainConfig())
    step = config["train"]["step"]
    assert 0 < step <= recipe.total_steps()
    assert load_optimizer(RUN, make_optimizer(model, recipe), model)["step"] == step
    logged = [json.loads(line)["step"] for line in (RUN / "train_log.jsonl").read_text().splitlines()]
    assert logged[-1] == step  # rows past the checkpoint would be trained again


@pytest.mark.skipif(not RUN.is_dir(), reason=f"no carried run at {RUN}")
def test_the_carried_runs_figures_are_its_own():
    """eval.json (docs/brain.md quotes it) was measured on these weights, every suite counted whole."""
    figures = json.loads((RUN / "eval.json").read_text())
    config = read_config(RUN)
    assert figures["weights_sha256"] == config["weights_sha256"] and figures["step"] == config["train"]["step"]
    assert {"iid", "edge", "wide", "crowded", "long"} <= set(figures["suites"])
    for suite in figures["suites"].values():
        assert suite["right"] + suite["wrong"] == suite["answered"] == suite["n"] >= 1000
        assert suite["exact"] == suite["right"] / suite["n"]
