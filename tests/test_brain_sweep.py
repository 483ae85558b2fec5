"""The capability-per-megabyte sweep, end to end on tiny models."""

from __future__ import annotations

import json

from brain.sweep import plots, sweep, sweep_table
from brain.train import PRESETS


def test_sweep_two_depths(tmp_path, rules):
    rows = sweep([1, 2], 0.01, tmp_path, rules, n=16, base=PRESETS["tiny"], log=lambda *a: None)
    assert [r["depth"] for r in rows] == [1, 2]
    assert rows[0]["params"] < rows[1]["params"] and rows[0]["weights_mb"] < rows[1]["weights_mb"]
    for r in rows:
        assert r["steps"] >= 50 and 0.0 <= r["iid"] <= 1.0 and r["perturb_gated_rejection"] == 1.0
        assert 0 < r["batch1_p50_ms"] <= r["batch1_p95_ms"]
    saved = json.loads((tmp_path / "sweep.json").read_text())
    assert saved["rows"] == rows
    assert sweep_table(rows).count("\n") == 3
    text, png = plots(rows, tmp_path)
    assert "weights MB" in text
    if png is not None:
        assert png.stat().st_size > 1000
