"""Saves: round trip, atomic write with a backup, corrupt and future saves, permadeath, progression kept."""

from __future__ import annotations

import json
import re

import pytest
from fakes import clear_monsters, monster

from game import death, saves
from game.actions import Train, Use
from game.autoplay import play
from game.session import GameSession


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


def test_save_round_trip_keeps_progression_and_reads_version_1(content, tmp_path):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    s.player.inventory = ["chain mail", "berserker brew"]
    s.perform(Use(0))
    s.perform(Use(0))
    death.slain(s, monster(content, "bog troll", 0, 0))
    s.perform(Train("vitality"))
    s.player.inventory += ["ration", "antidote"]
    s.perform(Use(1))  # b: the antidote cures nothing; the letters stay a, b
    s.player.food = 123
    s.settings.auto_pickup = False
    s.floor.monsters.append(monster(content, "kobold", 1, 1))
    s.floor.monsters[-1].fled = 3
    saves.save_game(s, tmp_path)
    t = saves.load_game(tmp_path, content)
    for a, b in ((s.player, t.player),):
        assert (a.xp, a.level, a.worn, a.power_bonus, a.armor_bonus, a.body, a.training, a.unspent, a.food,
                a.letters) == (b.xp, b.level, b.worn, b.power_bonus, b.armor_bonus, b.body, b.training, b.unspent,
                               b.food, b.letters)
    assert t.settings == s.settings
    assert t.floor.monsters[-1].fled == 3
    data = json.loads(saves.save_path(tmp_path).read_text())
    data["save_version"] = 1
    for key in ("xp", "level", "worn", "power_bonus", "armor_bonus"):
        del data["player"][key]
    old = saves.session_from_dict(data, content)
    assert old.player.level == 1 and old.player.worn is None
    data["player"]["worn"] = "healing draught"
    with pytest.raises(saves.SaveError, match=r"player\.worn"):
        saves.session_from_dict(data, content)
    data["player"]["worn"] = None
    data["player"]["level"] = 99
    with pytest.raises(saves.SaveError, match=r"player\.level"):
        saves.session_from_dict(data, content)
