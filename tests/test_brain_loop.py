"""Closing the loop: arena play writes logs that ingest cleanly; ingest survives bad lines."""

from __future__ import annotations

import json

import pytest
from fakes import GarbageModel, PerfectModel

from brain.arena import run_arena
from brain.data import split_of
from brain.ingest import ingest
from brain.shards import Split, envelope_of, load_manifest
from game.combat import resolve
from game.combat.format import FORMAT_VERSION, encode_answer, encode_input, parse_input
from game.combat.sampler import sample
from game.playlog import read_playlog


@pytest.mark.parametrize("active", ["rules", "model"])
def test_arena_runs_and_its_logs_ingest(tmp_path, content, active):
    model = PerfectModel(content.rules)
    out = run_arena(content, 300, 7, active, tmp_path, model, "fake", progress=False)
    assert out["turns_played"] == 300 and out["games_lost_to_crash"] == 0
    assert out["combat_turns"] > 0 and out["divergences"] == 0 and out["divergences_per_1000"] == 0.0
    assert out["model_latency_ms"]["n"] == out["combat_turns"]  # the shadow answers in rules mode too
    files = list((tmp_path / "playlogs").glob("*.jsonl"))
    assert files and sum(1 for f in files for _ in read_playlog(f)) == out["combat_turns"]
    manifest = ingest([tmp_path / "playlogs"], tmp_path / "data", content.rules)
    assert manifest["ingest"]["bad_lines"] == 0
    assert manifest["counts"]["train"] + manifest["counts"]["val"] + manifest["ingest"].get("duplicates", 0) \
        + manifest["ingest"].get("test_split_removed", 0) == out["combat_turns"]


def test_arena_counts_divergences_and_fallbacks(tmp_path, content):
    out = run_arena(content, 200, 3, "model", tmp_path, GarbageModel(), "garbage", progress=False)
    assert out["combat_turns"] > 0
    assert out["divergences"] == out["combat_turns"] == out["fallbacks"]
    assert out["divergences_per_1000"] == 1000.0
    assert out["games_lost_to_crash"] == 0


def _line(content, block, **over):
    state, action, roll = parse_input(block)
    o = resolve(state, action, roll, content.rules)
    rec = {"playlog_version": 1, "format_version": FORMAT_VERSION, "ruleset": content.rules.ruleset_id, "seed": 1,
           "turn": 1,
           "input": block, "model_answer": None, "rules_answer": encode_answer(o.events, o.next_state),
           "applied_answer": encode_answer(o.events, o.next_state), "active": "rules", "fallback": None,
           "latency_ms": 0.1}
    rec.update(over)
    return json.dumps(rec)


def test_ingest_relabels_and_reports_bad_lines(tmp_path, content):
    blocks = [b for b in (encode_input(*c) for c in sample("iid", 60, 11, content.rules)) if split_of(b) != "test"][:20]
    lines = [_line(content, b) for b in blocks]
    lines.append(_line(content, blocks[0]))  # duplicate
    lines.append(_line(content, blocks[1], rules_answer="| t00 A hp00 cd000000 B hp00 cd000000"))  # lying log
    lines.append(_line(content, blocks[2], format_version=99))
    lines.append(_line(content, blocks[3], ruleset="rs-000000000000"))
    lines.append(lines[0].replace(blocks[0], "t00 A hpXX"))  # an input block that does not parse
    lines.append("{not json")
    lines.append(json.dumps({"format_version": FORMAT_VERSION}))
    log = tmp_path / "p.jsonl"
    log.write_text("\n".join(lines) + "\n" + _line(content, blocks[4])[:40])  # torn last line
    m = ingest([log], tmp_path / "out", content.rules)
    ing = m["ingest"]
    assert ing["foreign_format_version"] == 1 and ing["foreign_ruleset"] == 1 and ing["malformed_input"] == 1
    assert ing["duplicates"] == 2  # the exact copy and the lying log of the same block
    assert ing["bad_lines"] == 6
    assert any(b.endswith("torn last line") and f"{log}:{len(lines) + 1}" in b for b in m["bad_lines"])
    assert any(f"{log}:{len(lines) - 1}: not JSON" in b for b in m["bad_lines"])
    manifest = load_manifest(tmp_path / "out", content.rules)  # the shard loader reads play data too
    rows = [Split(tmp_path / "out", s, manifest).text(k) for s in ("train", "val")
            for k in range(manifest["counts"][s])]
    assert len(rows) == 20 and manifest["kind"] == "playlog" and manifest["counts"]["test"] == 0
    for block, answer in rows:  # labels come from the rules, whatever the log said
        state, action, roll = parse_input(block)
        o = resolve(state, action, roll, content.rules)
        assert answer == encode_answer(o.events, o.next_state)
        assert split_of(block) != "test"
    assert {"A.hp", "B.max_hp", "turn"} <= set(envelope_of(manifest).bounds)


def test_tiny_finetune_end_to_end(tmp_path, content):
    from brain.finetune import FinetuneConfig, compare, compare_table, finetune
    from brain.train import PRESETS, train

    rules = content.rules
    train(PRESETS["tiny"], tmp_path / "base", rules, quiet=True)
    run_arena(content, 400, 11, "rules", tmp_path / "play", PerfectModel(rules), "fake", progress=False)
    manifest = ingest([tmp_path / "play" / "playlogs"], tmp_path / "data", rules)
    assert manifest["counts"]["train"] > 0
    info = finetune(tmp_path / "base", tmp_path / "data", tmp_path / "tuned", rules,
                    FinetuneConfig(steps=6, batch_size=8, warmup=2), quiet=True)
    assert info["play_rows"] + info["play_rows_outside_envelope"] == manifest["counts"]["train"]
    assert info["play_rows"] > 0 and info["log"][-1]["step"] == 6
    tuned = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert tuned["envelope"] == json.loads((tmp_path / "base" / "config.json").read_text())["envelope"]
    result = compare(tmp_path / "base", tmp_path / "tuned", tmp_path / "data", rules, n=8)
    assert result["play_heldout_n"] == manifest["counts"]["val"]
    assert set(result["before"]) == set(result["after"]) == {"play_heldout", "play_heldout_outside_envelope", "iid",
                                                             "edge"}
    assert "| after |" in compare_table(result)


def test_arena_and_ingest_commands(tmp_path):
    import subprocess
    import sys

    run = lambda *a: subprocess.run([sys.executable, "-m", "brain.cli", *a], capture_output=True, text=True,
                                    timeout=300)
    out = run("arena", "--turns", "150", "--seed", "2", "--resolver", "rules", "--no-model", "--json",
              "--save-dir", str(tmp_path), "--quiet")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    # the last action may take many turns (a rest, an explore): the budget is reached, not cut exactly
    assert 150 <= result["turns_played"] < 150 + 500 and "divergences_per_1000" in result
    out = run("ingest", str(tmp_path / "playlogs"), "--out", str(tmp_path / "data"))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["ingest"]["records"] == result["combat_turns"]
    out = run("arena", "--turns", "10", "--resolver", "model", "--model", str(tmp_path / "nope"))
    assert out.returncode == 2 and "cannot load the model" in out.stderr and "Traceback" not in out.stderr


def test_finetune_scales_the_muon_lr_with_the_adamw_lr():
    from brain.finetune import FinetuneConfig, finetune_recipe

    config = {"train": {"config": {"optimizer": "muon", "lr": 3e-3, "muon_lr": 0.02, "depth": 2}}}
    tc = finetune_recipe(config, FinetuneConfig(lr=3e-4, steps=10))
    assert tc.optimizer == "muon" and tc.lr == 3e-4 and tc.steps == 10
    assert abs(tc.muon_lr - 0.002) < 1e-12  # a tenth of the recipe's Muon lr, as the AdamW lr is a tenth
