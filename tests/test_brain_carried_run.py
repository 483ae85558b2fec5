"""The runs carried between sessions (brain/checkpoints/*, docs/brain.md): what is committed resumes.

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
from brain.cli import main
from brain.train import TrainConfig, make_optimizer, recipe_of

ROOT = Path(__file__).resolve().parents[1]
CARRIED = sorted(p for p in (ROOT / "brain" / "checkpoints").glob("*") if p.is_dir())
carried = pytest.mark.parametrize("run", CARRIED, ids=[p.name for p in CARRIED])


@carried
def test_the_carried_run_is_current_and_resumable(rules, run):
    model, _, config = load_model(run, rules.ruleset_id)  # the weights' sha256 is checked on load
    envelope = model_envelope(config, run)
    assert stale_reason(envelope, rules.ruleset_id) is None, "stale: retrain it or delete it (docs/brain.md)"
    assert envelope.sampler == "wide"
    recipe = recipe_of(run, TrainConfig())
    step = config["train"]["step"]
    assert 0 < step <= recipe.total_steps()
    assert load_optimizer(run, make_optimizer(model, recipe), model)["step"] == step
    logged = [json.loads(line)["step"] for line in (run / "train_log.jsonl").read_text().splitlines()]
    assert logged[-1] == step  # rows past the checkpoint would be trained again


@carried
def test_the_carried_runs_figures_are_its_own(run):
    """eval.json (docs/brain.md quotes it) was measured on these weights, every suite counted whole."""
    figures = json.loads((run / "eval.json").read_text())
    config = read_config(run)
    assert figures["weights_sha256"] == config["weights_sha256"] and figures["step"] == config["train"]["step"]
    assert {"iid", "edge", "wide", "crowded", "long"} <= set(figures["suites"])
    for suite in figures["suites"].values():
        assert suite["right"] + suite["wrong"] == suite["answered"] == suite["n"] >= 1000
        assert suite["exact"] == suite["right"] / suite["n"]


def test_eval_record_writes_what_a_carried_run_keeps(tmp_path, capsys):
    """`rpg-brain eval --record FILE` writes the eval.json above: figures, command, step, weights hash."""
    model = ROOT / "brain" / "models" / "default"
    out = tmp_path / "eval.json"
    argv = ["eval", "--model", str(model), "--suite", "iid", "edge", "--n", "6", "--seed", "17", "--json"]
    assert main([*argv, "--record", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    figures, config = json.loads(out.read_text()), read_config(model)
    assert figures["suites"] == printed and set(printed) == {"iid", "edge"}
    assert figures["weights_sha256"] == config["weights_sha256"] and figures["step"] == config["train"]["step"]
    assert figures["command"] == f"rpg-brain eval --model {model} --suite iid edge --n 6 --seed 17"
