"""Report sections of the long-running measurements render what their commands wrote, or say how to get it."""

from __future__ import annotations

import json

from brain.lab_report import _knee, converge_section, forms_section, loop_section, sweep_section


def test_missing_measurements_name_their_command(tmp_path):
    assert "rpg-brain sweep" in sweep_section(tmp_path)
    assert "rpg-brain export" in forms_section(tmp_path)
    assert "close_the_loop.sh" in loop_section(tmp_path)
    assert "rpg-brain sweep --data DIR --sizes" in converge_section(tmp_path)


def test_the_size_curve_section_is_the_sweeps_own_table(tmp_path):
    where = tmp_path / "sweep" / "converge"
    where.mkdir(parents=True)
    (where / "sweep.md").write_text("# Size curve at convergence\n\n| size |\n|---|\n| 2x64 |\n")
    text = converge_section(tmp_path)
    assert text.startswith("## Size curve at convergence (`rpg-brain sweep --sizes`)") and "| 2x64 |" in text
    assert "\n# Size" not in text


def test_knee_is_the_smallest_model_near_the_best():
    rows = [{"depth": d, "params": p, "iid": a} for d, p, a in ((1, 10, 0.5), (2, 20, 0.95), (3, 40, 0.96))]
    assert _knee(rows)["depth"] == 2


def test_forms_and_loop_render(tmp_path):
    (tmp_path / "forms.json").write_text(json.dumps([{"form": "fp16", "weights_mb": 0.25, "iid_exact": 0.98,
                                                      "edge_exact": 0.96, "parse_failures": 0,
                                                      "batch1_p50_ms": 5.0, "batch1_p95_ms": 7.5},
                                                     {"form": "onnx", "missing": "No module named 'onnx'"}]))
    text = forms_section(tmp_path)
    assert "| fp16 | numpy | 0.250 | 98.00% |" in text
    assert "| onnx | not measured: No module named 'onnx' |" in text
    arena = {"combat_turns": 1000, "divergences": 9, "divergences_per_1000": 9.0, "fallbacks": 1,
             "games_lost_to_crash": 0}
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps({"weights_sha256": "ab" * 32}))
    loop = {"base": str(base), "base_weights_sha256": "ab" * 32, "train_seeds": [1], "fresh_seed": 2,
            "ingest": {"counts": {"train": 10}, "ingest": {"records": 12}},
            "compare": {"before": {"play_heldout": 0.9, "iid": 0.98, "edge": 0.96},
                        "after": {"play_heldout": 1.0, "iid": 0.99, "edge": 0.97}},
            "fresh_before": arena, "fresh_after": {**arena, "divergences": 4, "divergences_per_1000": 4.0}}
    (tmp_path / "loop.json").write_text(json.dumps(loop))
    text = loop_section(tmp_path)
    assert "| before | 90.00% |" in text and "(4.0 per 1000)" in text
    assert "weights sha256 abababab" in text and "Stale" not in text
    (base / "config.json").write_text(json.dumps({"weights_sha256": "cd" * 32}))  # the base was replaced since
    assert "**Stale:** the model at that path is now cdcdcdcd" in loop_section(tmp_path)


def test_sweep_section_names_the_knee_and_why_the_default_is_its_size(tmp_path):
    def row(depth, params, iid, p50):
        return {"depth": depth, "width": 32 * depth, "params": params, "weights_mb": params * 4 / 1e6,
                "steps": 1000 // depth, "train_s": 900.0, "train_pflop": 0.01 * depth, "final_loss": 0.1,
                "iid": iid, "edge": iid - 0.02, "wide": 0.0, "order": iid, "chain_on_track": iid / 2,
                "batch1_p50_ms": p50, "batch1_p95_ms": 2 * p50}

    rows = [row(1, 21_440, 0.70, 9.0), row(2, 116_864, 0.95, 16.0), row(3, 360_000, 0.90, 40.0)]
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "sweep.json").write_text(json.dumps({"minutes": 15, "rows": rows}))
    text = sweep_section(tmp_path)
    assert "**Knee of the curve: depth 2**" in text
    assert "Why the default is depth 2" in text and "+25.0 points ahead" in text
    assert "lands -5.0 points from the default" in text and "sits at the knee" in text
    assert "| 3 | 96 | 360,000 |" in text


def test_the_report_card_is_its_sections_in_order(tmp_path, rules):
    from brain.data import Mix
    from brain.report import render, training_mix

    config = {"model": {"n_layer": 2, "n_embd": 64, "n_head": 2, "block_size": 384, "vocab_size": 133},
              "params": 116_864, "format_version": 1, "ruleset_id": "rs-x", "weights_sha256": "ab" * 32,
              "train": {"config": {"batch_size": 8, "init": "runs/first"}, "step": 50, "world": 1},
              "envelope": {"sampler": "narrow"}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 1000)
    row = lambda step, loss: {"step": step, "loss": loss, "elapsed_s": 6.0 * step, "tok_s": 1000,
                              "val_loss": loss, "val_exact": 0.5, "val_state_exact": 0.6}
    (tmp_path / "train_log.jsonl").write_text("".join(json.dumps(row(s, 1 / s)) + "\n" for s in (25, 50)))
    (tmp_path / "train_log.phase1.jsonl").write_text("".join(json.dumps(row(s, 2 / s)) + "\n" for s in (10, 20)))
    data = {"n": 4, "us_per_example": 300.0, "actions": {"attack": 3, "heal": 1}, "events": {"hit": 3},
            "splits": {"train": 4}, "hp_changes": {0: 1, 5: 3}, "mix": {"edge": 0.2}}
    bench = {"batch1_threads1_ms": {"fast_forward": {"p50": 1.0, "p95": 2.0}}, "decoder": "onnx", "load_s": 0.01,
             "load_cold_s": 0.1, "rss_mb": 70.0, "params": 116_864, "weights_mb": 0.47}
    text = render(tmp_path, rules, {}, bench, data)
    heads = ["## Model", "## Data", "## Training", "Phase 1 (the run this one started from, `runs/first`): 20 steps",
             "Phase 2 (this run)", "- 50 steps x 8 x 1 sequences = 400 examples",
             "## Evaluation", "## Benchmark", "| batch-1 p50 / p95, fast-forward, onnx (game path) | 1.00 / 2.00 ms |"]
    assert [text.index(h) for h in heads] == sorted(text.index(h) for h in heads)
    assert "| 5+ | 75.0% |" in text and "| attack | 75.0% |" in text
    assert "## Benchmark" not in render(tmp_path, rules, {}, None, data)
    # the data section measures the sampler that drew the model's data (its envelope's), not a stream's default
    assert training_mix(config) == Mix(0.2, 0.5, "narrow")
    assert training_mix({"train": {"config": {"edge": 0.3}}}) == Mix(0.3, 0.5, Mix().sampler)


def test_the_failure_lesson_reads_the_guarded_suites():
    from brain.lab_report import failure_lesson

    ood_model = {"n": 200, "fallbacks": 200, "silent": 0, "unguarded_exact": 0.015}
    result = {"iid": {"state_exact": 1.0}, "ood": {"n": 200, "silent": 0, "models": {"model": ood_model}},
              "probe": {"n": 1480, "silent": 0, "models": {"model": {"fields": {}, "at_the_format_bound": []}}},
              "order": {"state_exact": 0.999, "status_reversed_exact": 0.995},
              "perturb": {"raw_plausible_rate": None, "ungated_plausible_rate": 0.8, "ungated_right_rate": 0.7,
                          "gated_rejection_rate": 1.0},
              "chain": {"runs": 10, "turns": 50, "on_track_share": 1.0},
              "label_collapse": {"value": 0.35}, "token_drift": {"value": 0.0}, "boundary_confusion": {"value": 1.0}}
    text = failure_lesson(result)
    assert "0 of 200 `ood` turns" in text and "0 of 1480 `probe` turns" in text
    assert "right on 1.5% of those `ood` turns" in text and "plausible state for n/a" in text
