"""The wide runs carried between sessions (docs/brain.md, "The wide run on the CPU"): what is committed resumes.

The checkpoints are committed so that the next session continues them; these checks fail the day it could not:
a rule or sampler change makes one stale (retrain it, or delete the directory and say so in docs/brain.md),
a partial copy leaves the weights and the optimizer state at different steps, the format-2 run's patch no
longer applies to the tree.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from brain.checkpoint import ModelLoadError, load_model, load_optimizer, model_envelope, read_config, stale_reason
from brain.train import TrainConfig, make_optimizer, recipe_of

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "brain" / "checkpoints" / "wide-cpu"
# format 2 (docs/brain.md, "Format 2c"): trained in a tree with the patch applied, so this tree refuses it
RUN2 = ROOT / "brain" / "checkpoints" / "wide-2c"
PATCH2 = ROOT / "scripts" / "format-2c.patch"


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


@pytest.mark.parametrize("run", [RUN, RUN2], ids=["format-1", "format-2c"])
def test_the_carried_runs_figures_are_its_own(run):
    """eval.json (docs/brain.md quotes it) was measured on these weights, every suite counted whole: a run
    continued and copied back without a fresh eval fails here."""
    if not run.is_dir():
        pytest.skip(f"no carried run at {run}")
    figures = json.loads((run / "eval.json").read_text())
    config = read_config(run)
    assert figures["weights_sha256"] == config["weights_sha256"] and figures["step"] == config["train"]["step"]
    assert {"iid", "edge", "wide", "crowded", "long"} <= set(figures["suites"])
    for suite in figures["suites"].values():
        assert suite["right"] + suite["wrong"] == suite["answered"] == suite["n"] >= 1000
        assert suite["exact"] == suite["right"] / suite["n"]


@pytest.mark.skipif(not RUN2.is_dir(), reason=f"no carried run at {RUN2}")
def test_the_format_2_run_is_refused_here_and_its_patch_applies(rules):
    """This tree writes format 1: the format-2 run must be refused as trained for another format (not loaded and
    silently wrong), and the patch it was trained under must still apply, or the next session cannot resume it."""
    assert read_config(RUN2)["format_version"] == 2
    with pytest.raises(ModelLoadError, match="trained for block format 2"):
        load_model(RUN2, rules.ruleset_id)
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: the patch's fit is checked where one is")
    done = subprocess.run(["git", "apply", "--check", str(PATCH2)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"{PATCH2.name} no longer applies; re-make it (docs/brain.md): {done.stderr}"
