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
    assert text.startswith("## Size curve at convergence") and "| 2x64 |" in text and "\n# Size" not in text


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
    loop = {"train_seeds": [1], "fresh_seed": 2, "ingest": {"counts": {"train": 10}, "ingest": {"records": 12}},
            "compare": {"before": {"play_heldout": 0.9, "iid": 0.98, "edge": 0.96},
                        "after": {"play_heldout": 1.0, "iid": 0.99, "edge": 0.97}},
            "fresh_before": arena, "fresh_after": {**arena, "divergences": 4, "divergences_per_1000": 4.0}}
    (tmp_path / "loop.json").write_text(json.dumps(loop))
    text = loop_section(tmp_path)
    assert "| before | 90.00% |" in text and "(4.0 per 1000)" in text


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
