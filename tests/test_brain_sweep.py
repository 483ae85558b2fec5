"""The capability-per-megabyte sweep, end to end on tiny models."""

from __future__ import annotations

import json

import pytest

from brain.sweep import plots, sweep, sweep_table
from brain.train import PRESETS


@pytest.mark.slow
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


# ------------------------------------------------------------------ the size curve at convergence


def test_plateau_stops_after_patience_evals_without_a_better_val_exact():
    from brain.sweep import Plateau

    stop = Plateau(patience=2, budget_s=1e9)
    assert stop({"step": 5, "loss": 3.0}) is None  # a log row without an evaluation
    rows = [(10, 0.0, 2.0), (20, 0.0, 1.5), (30, 0.0, 1.6), (40, 0.5, 1.0), (50, 0.9, 0.5), (60, 0.9, 0.4)]
    assert [stop({"step": s, "val_exact": e, "val_loss": v}) for s, e, v in rows] == [None] * 6
    reason = stop({"step": 70, "val_exact": 0.85, "val_loss": 0.3})  # second eval without a better val exact
    assert reason == "plateau: no better val exact in 2 evals since step 50"
    assert stop.best == 0.9 and stop.curve[-1] == (70, 0.85)
    assert Plateau(patience=99, budget_s=0)({"step": 1, "loss": 1.0}) == "budget: 0 s spent"


def test_sizes_are_layers_by_a_width_of_whole_heads():
    from brain.sweep import parse_sizes

    assert parse_sizes("1x32, 2x64,3x96") == [(1, 32), (2, 64), (3, 96)]
    for bad in ("2x48", "2", "x64", "0x32", "2x64x1"):
        with pytest.raises(ValueError, match="LAYERSxWIDTH"):
            parse_sizes(bad)


@pytest.fixture(scope="module")
def shards(tmp_path_factory, rules):
    from brain.data import Mix
    from brain.shards import generate

    out = tmp_path_factory.mktemp("shards")
    generate(out, 4000, 5, rules, Mix(), shard_size=2000, workers=1)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])  # 2: each size in its own (spawned) process, rows still in --sizes order
def test_converge_tiny_sizes(shards, tmp_path, capsys, jobs):
    from brain.cli import main

    out = tmp_path / "conv"
    argv = ["sweep", "--sizes", "1x32,1x64", "--data", str(shards), "--budget-s", "20", "--eval-every", "10",
            "--patience", "2", "--val-n", "16", "--n", "20", "--preset", "tiny", "--max-steps", "60", "--out", str(out),
            "--jobs", str(jobs)]
    assert main(argv) == 0
    saved = json.loads((out / "sweep.json").read_text())
    rows = saved["rows"]
    assert [r["size"] for r in rows] == ["1x32", "1x64"] and saved["command"] == "rpg-brain " + " ".join(argv)
    assert f"{jobs} size(s) at once" in saved["machine"] and "failed" not in saved
    assert rows[0]["params"] < rows[1]["params"]
    for r in rows:
        assert r["bytes_int8"] < r["bytes_fp32"] and r["examples"] == r["steps"] * 8
        assert r["stop"].startswith(("plateau", "budget", "schedule end")) and 0 <= r["iid"] <= 1
        assert r["val_curve"] and r["val_curve"][0][0] == 10  # measured every 10 steps
        log = [json.loads(line) for line in (out / r["size"] / "train_log.jsonl").read_text().splitlines()]
        assert log[-1]["step"] == r["steps"] and log[-1].get("stop", "schedule end") == r["stop"]
        if r["stop"] == "schedule end":
            assert r["steps"] == 60
    reached = [r["size"] for r in rows if r["iid"] >= 0.999 and r["edge"] >= 0.999]
    assert saved["smallest"] == (reached[0] if reached else None)
    table = capsys.readouterr().out
    assert table.count("| 1x") == 2 and "Smallest size at >= 99.9%" in table
    assert (out / "sweep.md").read_text().startswith("# Size curve at convergence")


@pytest.mark.slow
def test_converge_stops_a_size_on_its_plateau(shards, tmp_path, rules):
    from dataclasses import replace

    from brain.sweep import converge

    base = replace(PRESETS["tiny"], lr=0.0, warmup=1)  # nothing is learned: val loss and exact never move
    result = converge([(1, 32)], shards, 60, tmp_path, rules, n=8, eval_every=5, patience=2, val_n=8, base=base,
                      max_steps=500, log=lambda *a: None)
    (row,) = result["rows"]
    assert row["stop"] == "plateau: no better val exact in 2 evals since step 5" and row["steps"] == 15


def _row(size: str, steps: int, iid: float) -> dict:
    depth, width = map(int, size.split("x"))
    return {"size": size, "depth": depth, "width": width, "params": depth * width * 100, "bytes_fp32": 4000,
            "bytes_int8": 1000 * depth, "steps": steps, "examples": steps * 512, "wall_s": 1.0, "stop": "budget",
            "best_val_exact": iid, "best_val_step": steps, "val_curve": [], "iid": iid, "edge": iid}


def test_sweeps_of_several_calls_combine_into_one_curve(tmp_path, capsys):
    from brain.cli import main

    head = {"mode": "converge", "n": 2000, "target": 0.999, "val_n": 500, "eval_every": 250, "patience": 4,
            "max_steps": 5000, "budget_s": 300}
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(head | {"command": "first", "machine": "gpu", "rows": [_row("1x32", 4000, 0.2),
                                                                                  _row("2x64", 3000, 0.99)]}))
    b.write_text(json.dumps(head | {"command": "second", "machine": "gpu", "rows": [_row("2x64", 5000, 0.9995),
                                                                                   _row("1x64", 5000, 0.9)]}))
    out = tmp_path / "both"
    assert main(["sweep", "--combine", str(a), str(b), "--out", str(out)]) == 0
    saved = json.loads((out / "sweep.json").read_text())
    assert [(r["size"], r["steps"], r["source"]) for r in saved["rows"]] == [
        ("1x32", 4000, 0), ("1x64", 5000, 1), ("2x64", 5000, 1)]  # by size; 2x64's longer run wins
    assert saved["smallest"] == "2x64" and [s["command"] for s in saved["sources"]] == ["first", "second"]
    md = (out / "sweep.md").read_text()
    assert md.startswith("# Size curve at convergence\n")
    assert "source 0: `first`" in md and "(source 1)" in md and "**2x64**" in capsys.readouterr().out
    b.write_text(json.dumps(json.loads(b.read_text()) | {"fit_schedule": True}))  # every size stopped at 300 s
    assert main(["sweep", "--combine", str(a), str(b), "--out", str(out)]) == 0
    assert (out / "sweep.md").read_text().startswith("# Size curve at equal training time (300 s a size)\n")
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["sweep", "--combine", str(a), str(tmp_path / "bad.json"), "--out", str(out)]) == 2
    assert "bad.json: not a sweep.json" in capsys.readouterr().err


@pytest.mark.parametrize("argv, words", [
    (["--sizes", "1x32"], "give --data DIR"),
    (["--sizes", "1x40", "--data", "x"], "'1x40': expected LAYERSxWIDTH"),
])
def test_converge_bad_flags(argv, words, capsys):
    from brain.cli import main

    assert main(["sweep", *argv]) == 2
    assert words in capsys.readouterr().err
