"""The play-log reader: torn last lines and bad lines are reported with file and line, never fatal."""

from __future__ import annotations

import json

from game.playlog import PlayLogWriter, iter_playlogs, read_playlog
from game.session import GameSession


def _records(content, tmp_path, n=3):
    from game.autoplay import play

    path = tmp_path / "a.jsonl"
    s = GameSession.new(content, 4, "a", PlayLogWriter(path))
    play(s, 400, seed=0)
    s.playlog.close()
    lines = path.read_text().splitlines()
    assert len(lines) >= n
    return path, lines


def test_roundtrip_and_flush_per_line(tmp_path):
    path = tmp_path / "x" / "log.jsonl"
    w = PlayLogWriter(path)
    rec = {"playlog_version": 1, "format_version": 1, "ruleset": "rs-x", "seed": 1, "turn": 0, "input": "t00",
           "model_answer": None, "rules_answer": "| t01", "applied_answer": "| t01", "active": "rules",
           "fallback": None, "latency_ms": None}
    w.write(rec)
    # flushed: readable before close
    assert list(read_playlog(path)) == [rec]
    w.close()


def test_torn_last_line_and_corrupt_lines(content, tmp_path):
    path, lines = _records(content, tmp_path)
    good = len(lines)
    broken = [*lines[:2], "{not json", json.dumps({"turn": 1}), "[1, 2]", *lines[2:], lines[0][:25]]
    path.write_text("\n".join(broken))  # no trailing newline: the last line is torn
    bad = []
    recs = list(read_playlog(path, bad))
    assert len(recs) == good
    assert [b.line for b in bad] == [3, 4, 5, len(broken)]
    assert bad[-1].reason == "torn last line"
    assert "missing field" in bad[1].reason and "expected a JSON object" in bad[2].reason
    assert str(bad[0]).startswith(f"{path}:3: not JSON")


def test_directories_and_unreadable(content, tmp_path):
    _path, lines = _records(content, tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.jsonl").write_bytes(b"\xff\xfe garbage\n")
    bad = []
    recs = list(iter_playlogs([tmp_path, tmp_path / "missing.jsonl"], bad))
    assert len(recs) == len(lines)
    assert any("b.jsonl" in b.file and b.line == 1 for b in bad)
    assert any("missing.jsonl" in b.file and "cannot read" in b.reason for b in bad)
