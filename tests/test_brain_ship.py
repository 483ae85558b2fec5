"""`rpg-brain ship RUN`: the weights, the config with its eval summary, and the run's own training curves."""

from __future__ import annotations

import json
import shutil

import pytest

from brain.checkpoint import CONFIG, LOG, WEIGHTS
from brain.cli import main
from brain.ship import INIT_LOG


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("ship") / "run"
    assert main(["train", "--preset", "tiny", "--steps", "6", "--out", str(d)]) == 0
    return d


def test_a_fine_tuned_run_ships_with_the_curve_it_started_from_and_no_stale_logs(run, tmp_path, rules):
    tuned = tmp_path / "tuned"  # what `rpg-brain finetune` leaves: weights and config, no train log
    tuned.mkdir()
    shutil.copyfile(run / WEIGHTS, tuned / WEIGHTS)
    config = json.loads((run / CONFIG).read_text())
    config["finetune"] = {"from": str(run), "config": {"steps": 4}}
    from game.combat.sampler import SAMPLERS  # an envelope of the narrow sampler: the data record must say so

    config["envelope"] |= {"sampler": "narrow", "sampler_version": SAMPLERS["narrow"].version}
    (tuned / CONFIG).write_text(json.dumps(config))
    to = tmp_path / "shipped"
    to.mkdir()
    (to / LOG).write_text('{"step": 99999}\n')  # the curves of the model shipped before
    (to / INIT_LOG).write_text('{"step": 88888}\n')
    stale_int8 = tmp_path / "shipped-int8"
    stale_int8.mkdir()
    (stale_int8 / "stale").write_text("the int8 form of the model shipped before")
    assert main(["ship", str(tuned), "--to", str(to), "--n", "4"]) == 0
    assert (to / LOG).read_text() == (run / LOG).read_text()
    assert not (to / INIT_LOG).exists()  # the tiny run had no first phase
    shipped = json.loads((to / CONFIG).read_text())
    assert shipped["finetune"]["from"] == str(run) and set(shipped["eval"]) == {"iid", "edge"}
    assert shipped["data"]["mix"]["sampler"] == shipped["envelope"]["sampler"] == "narrow"  # once always "wide"
    assert not list(to.glob("optim*")) and not list(to.glob("*.tmp"))
    # int8 ships beside the model only if every held-out answer is the same; either way the old one is gone
    int8 = shipped["int8"]
    assert int8["n"] == 8 and int8["shipped"] == (int8["different"] == 0) == stale_int8.exists()
    assert not (stale_int8 / "stale").exists() and not list(tmp_path.glob(".*int8*"))
    if int8["shipped"]:
        from brain.engine import ModelResolver

        assert json.loads((stale_int8 / CONFIG).read_text())["weights_form"] == "int8"
        assert ModelResolver.load(stale_int8, rules).num_params() == shipped["params"]


def test_an_int8_form_that_answers_differently_is_not_shipped(run, rules, tmp_path):
    from types import SimpleNamespace

    from brain.ship import ship_int8
    from brain.suites import held_out

    model = tmp_path / "model"
    shutil.copytree(run, model)
    (tmp_path / "model-int8").mkdir()  # shipped with the model before
    other = SimpleNamespace(resolve_one=lambda case: SimpleNamespace(raw="another answer"))
    said = []
    got = ship_int8(model, other, held_out("iid", 3, rules), rules, log=said.append)
    assert got == {"dir": "model-int8", "n": 3, "different": 3, "shipped": False}
    assert not (tmp_path / "model-int8").exists() and "3 of 3 held-out answers differ" in said[0]


def test_a_stale_run_is_refused_before_anything_is_copied(run, tmp_path, rules):
    """Staleness was checked only when the shipped copy loaded: the model that shipped was already replaced."""
    from brain.checkpoint import ModelLoadError
    from brain.ship import ship

    stale = tmp_path / "stale"
    shutil.copytree(run, stale)
    config = json.loads((stale / CONFIG).read_text())
    del config["envelope"]  # a model from before envelopes
    (stale / CONFIG).write_text(json.dumps(config))
    to = tmp_path / "shipped"
    to.mkdir()
    (to / WEIGHTS).write_bytes(b"the model that ships")
    with pytest.raises(ModelLoadError, match="not shipped, the model is stale: it records no envelope"):
        ship(stale, to, rules, n=4)
    assert [p.name for p in to.iterdir()] == [WEIGHTS] and (to / WEIGHTS).read_bytes() == b"the model that ships"


def test_a_run_trained_on_shards_ships_the_shards_mix_not_its_recipes(rules):
    from brain.ship import _data_manifest

    shards = {"config": {"data": "D", "edge": 0.2, "easy_keep": 0.5}, "data_manifest": "h",
              "data_mix": {"edge": 0.2, "easy_keep": 0.5, "sampler": "wide", "boundary": 0.3, "long": 0.2}}
    assert _data_manifest({"train": shards}, rules, "wide")["mix"] == shards["data_mix"]
    older = {"config": {"data": "D", "edge": 0.1, "easy_keep": 0.5}, "data_manifest": "h"}  # before data_mix
    assert _data_manifest({"train": older}, rules, "wide")["mix"] == {"edge": 0.1, "easy_keep": 0.5, "sampler": "wide"}
