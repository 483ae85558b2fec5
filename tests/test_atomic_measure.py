"""The shared helpers: one atomic write, one percentile."""

from __future__ import annotations

import os

import pytest

from game.atomic import write_atomic
from game.measure import percentile


def test_percentile_nearest_rank():
    assert percentile([4, 1, 3, 2], 0.5) == 2
    assert percentile(range(1, 21), 0.95) == 19
    assert percentile(range(1, 101), 0.95) == 95
    assert percentile([7.5], 0.95) == 7.5
    assert percentile([], 0.5) is None
    with pytest.raises(ValueError):
        percentile([1], 1.5)


def test_write_atomic_keeps_a_backup_and_never_follows_a_planted_symlink(tmp_path):
    path, bak, victim = tmp_path / "save.json", tmp_path / "save.json.bak", tmp_path / "victim"
    victim.write_text("precious")
    os.symlink(victim, tmp_path / "save.json.tmp")  # what the old fixed temp name would have followed
    write_atomic(path, "one")
    write_atomic(path, "two", backup=bak)
    assert path.read_text() == "two" and bak.read_text() == "one"
    assert victim.read_text() == "precious"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".save.json.")]  # no temp file left


def test_write_atomic_failure_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "save.json"
    write_atomic(path, "old")
    (tmp_path / "save.json.bak").mkdir()  # a backup path that cannot be replaced
    with pytest.raises(OSError):
        write_atomic(path, "new", backup=tmp_path / "save.json.bak")
    assert path.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["save.json", "save.json.bak"]
