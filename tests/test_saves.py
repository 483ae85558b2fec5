"""Saves: round trip, atomic write with a backup, corrupt and future saves, permadeath."""

from __future__ import annotations

import json
import re

import pytest

from game import saves
from game.autoplay import play
from game.content import load_content
from game.session import GameSession


@pytest.fixture(scope="module")
def content():
    return load_content()


def _comparable(s):
    d = saves.session_to_dict(s)
    d.pop("saved_at")
    return d


def test_round_trip_continues_identically(content, tmp_path):
    a = play(GameSession.new(content, 8), 150, seed=3)
    saves.save_game(a, tmp_path)
    b = saves.load_game(tmp_path, content)
    assert _comparable(a) == _comparable(b)
    # the restored RNG streams continue the same run
    play(a, 100, seed=4)
    play(b, 100, seed=4)
    assert _comparable(a) == _comparable(b)


def test_backup_and_no_temp_left(content, tmp_path):
    s = GameSession.new(content, 8)
    saves.save_game(s, tmp_path)
    first = saves.save_path(tmp_path).read_text()
    play(s, 20)
    saves.save_game(s, tmp_path)
    assert (tmp_path / "save.json.bak").read_text() == first
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("mutate, expect", [
    (lambda text: text[: len(text) // 2], "not a readable JSON save"),
    (lambda text: json.dumps({**json.loads(text), "save_version": 99}), "newer than this game"),
    (lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "player"}), "missing field 'player'"),
    (lambda text: re.sub(r'"hp":\d+', '"hp":480', text, count=1), "hp"),  # the player's, first in the file
    (lambda text: json.dumps({**json.loads(text), "ruleset": "rs-other"}), "ruleset"),
    (lambda text: "[]", "JSON object"),
])
def test_bad_saves_give_clear_errors_and_are_kept_aside(content, tmp_path, mutate, expect):
    s = GameSession.new(content, 8)
    saves.save_game(s, tmp_path)
    path = saves.save_path(tmp_path)
    bad_text = mutate(path.read_text())
    path.write_text(bad_text)
    with pytest.raises(saves.SaveError) as err:
        saves.load_game(tmp_path, content)
    assert expect in str(err.value) and str(path) in str(err.value)
    aside = saves.quarantine(tmp_path)
    assert aside is not None and aside.read_text() == bad_text and not path.exists()


def test_delete_and_morgue(content, tmp_path):
    s = GameSession.new(content, 8)
    saves.save_game(s, tmp_path)
    saves.save_game(s, tmp_path)
    saves.delete_save(tmp_path)
    assert not saves.has_save(tmp_path) and not (tmp_path / "save.json.bak").exists()
    s.dead, s.cause = True, "killed by a rat"
    text = saves.write_morgue(s, tmp_path).read_text()
    assert "killed by a rat" in text and "seed 8" in text
