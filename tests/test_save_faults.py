"""Fault injection for saves: hostile files, the backup rule, the newest loadable save, write failures."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from game import saves
from game.autoplay import play
from game.content import load_content
from game.session import GameSession

# a good save, built at import: the parametrized cases below are made from it (the tests take the `content` fixture)
GOOD = saves.session_to_dict(play(GameSession.new(load_content(), 8), 60, seed=3))
GOOD_TEXT = json.dumps(GOOD)


def _write(path, text: str | bytes) -> None:
    path.write_bytes(text.encode() if isinstance(text, str) else text)


def _with(path: tuple, value) -> str:
    """GOOD with the field at `path` replaced by `value` (raw JSON text when value is a str starting with '§')."""
    d = json.loads(GOOD_TEXT)
    node = d
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "@@RAW@@"
    text = json.dumps(d)
    raw = value[1:] if isinstance(value, str) and value.startswith("§") else json.dumps(value)
    return text.replace('"@@RAW@@"', raw, 1)


HOSTILE = {
    "seed 1e400": _with(("seed",), "§1e400"),
    "seed a float": _with(("seed",), 1.5),
    "rng entry -1": _with(("rng", "combat", 1, 0), -1),
    "rng index 625": _with(("rng", "ai", 1, 624), 625),
    "rng short": _with(("rng", "ai", 1), [1, 2, 3]),
    "5000-digit integer": _with(("turns",), "§" + "9" * 5000),
    "100000 [": '{"save_version":1,"x":' + "[" * 100_000,
    "NaN": _with(("saved_at",), "§NaN"),
    "hp a string": _with(("player", "body", "hp"), "48"),
    "hp negative": _with(("player", "body", "hp"), -5),
    "status too long": _with(("player", "body", "statuses", 0), [1, 2, 3]),
    "player outside the map": _with(("player", "x"), 10_000),
    "monster outside the map": _with(("floors", "1", "monsters", 0, "y"), 999),
    "room outside the map": _with(("floors", "1", "rooms", 0), [50, 15, 40, 40]),
    "unknown tile": _with(("floors", "1", "tiles", 0), "X" * GOOD["floors"]["1"]["width"]),
    "short row": _with(("floors", "1", "seen", 3), "01"),
    "floors a list": _with(("floors",), []),
    "depth missing floor": _with(("depth",), 4),
    "messages nested": _with(("messages",), [[[["x"]]]]),
    "message count huge": _with(("messages", 0, 3), 10**40),
    "top level list": "[]",
    "not utf-8": b"\xff\xfe{}",
}
# what save version 4 added: each hostile value is a SaveError naming its field
HOSTILE_V4 = {
    "player.food": _with(("player", "food"), -1),
    "player.food ": _with(("player", "food"), 10**9),
    "player.letters": _with(("player", "letters"), []),
    "player.letters ": _with(("player", "letters"), {"wand of wishing": "a"}),
    "player.training": _with(("player", "training"), {"luck": 1}),
    "player.unspent": _with(("player", "unspent"), 99),
    "player.training.might": _with(("player", "training"), {"might": "2"}),
    "settings": _with(("settings",), 5),
    "settings.auto_pickup": _with(("settings", "auto_pickup"), "yes"),
    "stats.by_resolver": _with(("stats", "by_resolver"), {"oracle": {}}),
    "stats.by_resolver.rules.turns": _with(("stats", "by_resolver"), {"rules": {"turns": -1, "answered": 0,
                                                                                "divergences": 0, "fallbacks": 0}}),
}
HOSTILE.update({f"v4 {k}": v for k, v in HOSTILE_V4.items()})


def test_a_version_3_save_loads_with_its_level_ups_to_choose_and_a_fresh_stomach(content, tmp_path):
    d = json.loads(GOOD_TEXT)
    d["save_version"] = 3
    for key in ("letters", "training", "unspent", "food"):
        del d["player"][key]
    del d["settings"], d["stats"]["by_resolver"]
    d["player"]["level"] = 3
    s = saves.session_from_dict(d, content)
    assert s.player.unspent == 2 and s.player.food == content.player.hunger.start and s.settings.auto_pickup


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_saves_are_a_save_error_naming_the_file(content, tmp_path, name):
    path = saves.save_path(tmp_path)
    _write(path, HOSTILE[name])
    with pytest.raises(saves.SaveError) as err:
        saves.load_game(tmp_path, content)
    assert str(path) in str(err.value)
    if name.startswith("v4 "):  # a version 4 field names itself
        assert name[3:].strip() in str(err.value), str(err.value)


def test_huge_and_symlinked_saves_are_refused_without_reading(content, tmp_path):
    path = saves.save_path(tmp_path)
    with open(path, "wb") as fh:  # sparse: 200 MB on paper, nothing on disk
        fh.truncate(200 * 1024 * 1024)
    with pytest.raises(saves.SaveError, match="larger than any save"):
        saves.load_file(path, content)
    path.unlink()
    target = tmp_path / "elsewhere.json"
    _write(target, GOOD_TEXT)
    path.symlink_to(target)
    with pytest.raises(saves.SaveError, match="symbolic link"):
        saves.load_file(path, content)


def _mutations():
    leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                     st.text(max_size=5), st.just("§1e999"), st.just("§" + "7" * 4400))
    value = st.recursive(leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                           max_size=3), max_leaves=6)
    return st.lists(st.tuples(st.integers(0, 10**6), value), min_size=1, max_size=3)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:8]):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(GOOD) if p]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_mutations())
def test_any_mutated_save_loads_or_is_a_save_error(content, tmp_path, mutations):
    text = GOOD_TEXT
    for pick, value in mutations:
        try:
            d = json.loads(text)
        except ValueError:  # an earlier mutation wrote a number Python will not read back: test that
            break
        path = PATHS[pick % len(PATHS)]
        node = d
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = "@@RAW@@"
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
        raw = value[1:] if isinstance(value, str) and value.startswith("§") else json.dumps(value)
        text = json.dumps(d).replace('"@@RAW@@"', raw, 1)
    path = saves.save_path(tmp_path)
    _write(path, text)
    try:
        s = saves.load_file(path, content)
    except saves.SaveError as exc:
        assert str(path) in str(exc)
    else:  # what loads must also play and save again
        play(s, 5)
        saves.save_game(s, tmp_path)


# ------------------------------------------------------------------ backups and the newest save

def _session(content, turns: int = 0) -> GameSession:
    s = GameSession.new(content, 8)
    return play(s, turns, seed=1) if turns else s


def test_a_corrupt_save_never_replaces_a_good_backup(content, tmp_path):
    s = _session(content)
    saves.save_game(s, tmp_path)
    saves.save_game(s, tmp_path)  # now save.json and save.json.bak are good
    bak = tmp_path / saves.BACKUP_NAME
    good_bak = bak.read_bytes()
    for bad in ("{", "[]", _with(("seed",), "§1e400")):
        _write(saves.save_path(tmp_path), bad)
        saves.save_game(_session(content), tmp_path)  # what --new does at its first save
        assert bak.read_bytes() == good_bak
        assert any(p.read_text() == bad for p in tmp_path.glob("save.broken-*.json"))
        saves.load_game(tmp_path, content)


def test_a_symlinked_save_is_moved_aside_not_followed(content, tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("not a save")
    saves.save_path(tmp_path).symlink_to(target)
    saves.save_game(_session(content), tmp_path)
    assert target.read_text() == "not a save"
    assert not saves.save_path(tmp_path).is_symlink() and not (tmp_path / saves.BACKUP_NAME).exists()


def test_temp_file_symlink_is_never_followed(content, tmp_path):
    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    (tmp_path / "save.json.tmp").symlink_to(target)
    for name in ("a", "b"):
        (tmp_path / f".save.json.{name}.tmp").symlink_to(target)
    saves.save_game(_session(content), tmp_path)
    saves.save_game(_session(content), tmp_path)
    assert target.read_text() == "keep me"


def test_corrupt_save_with_good_backup_offers_the_backup(content, tmp_path):
    s = _session(content, 30)
    saves.save_game(s, tmp_path)
    saves.save_game(s, tmp_path)
    _write(saves.save_path(tmp_path), "{ torn")
    loaded = saves.load_newest(tmp_path, content)
    assert loaded.path.name == saves.BACKUP_NAME and loaded.session.turns == s.turns
    assert [p.name for p, _ in loaded.broken] == [saves.SAVE_NAME]


@pytest.mark.parametrize("temp_name", ["save.json.tmp", ".save.json.k3x9.tmp"])
def test_backup_and_a_leftover_temp_offer_the_newer_temp(content, tmp_path, temp_name):
    """What a kill between the two renames of the old saves.py left: .bak and a complete temp file (the next
    save of the same run, so one step further in the save sequence)."""
    s = _session(content, 10)
    saves.save_game(s, tmp_path)
    saves.save_game(s, tmp_path)
    saves.save_path(tmp_path).unlink()
    play(s, 30, seed=2)
    nxt = saves.session_to_dict(s)
    nxt["save_seq"] += 1
    _write(tmp_path / temp_name, json.dumps(nxt))
    assert saves.has_save(tmp_path)
    loaded = saves.load_newest(tmp_path, content)
    assert loaded.path.name == temp_name and loaded.session.turns == s.turns


def test_nothing_loads_lists_every_reason(content, tmp_path):
    _write(saves.save_path(tmp_path), "{")
    _write(tmp_path / saves.BACKUP_NAME, "[]")
    with pytest.raises(saves.SaveError) as err:
        saves.load_newest(tmp_path, content)
    assert saves.SAVE_NAME in str(err.value) and saves.BACKUP_NAME in str(err.value)


def test_permadeath_leaves_nothing_continue_could_offer(content, tmp_path):
    s = _session(content, 10)
    saves.save_game(s, tmp_path)
    saves.save_game(s, tmp_path)
    _write(tmp_path / "save.json.tmp", json.dumps(saves.session_to_dict(s)))
    _write(tmp_path / ".save.json.x1.tmp", json.dumps(saves.session_to_dict(s)))
    saves.delete_save(tmp_path)
    assert not saves.has_save(tmp_path)


def test_keep_run_copies_a_living_run(content, tmp_path):
    s = _session(content, 20)
    saves.save_game(s, tmp_path)
    kept = saves.keep_run(tmp_path, content)
    assert kept is not None and kept.parent.name == saves.KEPT_DIR
    assert saves.load_file(kept, content).turns == s.turns
    assert saves.keep_run(tmp_path / "empty", content) is None


# ------------------------------------------------------------------ write failures

def test_save_json_a_directory_is_a_clear_write_error(content, tmp_path):
    saves.save_path(tmp_path).mkdir()
    with pytest.raises(saves.SaveWriteError) as err:
        saves.save_game(_session(content), tmp_path)
    assert str(saves.save_path(tmp_path)) in str(err.value) and "directory" in str(err.value)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_save_dir_a_file_is_a_clear_write_error(content, tmp_path):
    (tmp_path / "saves").write_text("a file")
    with pytest.raises(saves.SaveWriteError) as err:
        saves.save_game(_session(content), tmp_path / "saves")
    assert "saves" in str(err.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_save_dir_is_a_clear_write_error(content, tmp_path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(saves.SaveWriteError):
            saves.save_game(_session(content), tmp_path)
    finally:
        tmp_path.chmod(0o700)
