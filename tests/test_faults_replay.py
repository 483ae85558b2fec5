"""Fault injection, replayed by class: what a hostile tester filed, each class with its own reproduction.

A. operations that destroy what they do not own (another run's save; the clock deciding which save is newest);
B. one validator for every state the game can hold (saves, names from files, special files, runs.json, markup
   and control characters, command-line numbers); C. what a save may carry, and one seed range.
The signal races (closing the terminal) are in tests/test_signals.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fakes import clear_monsters, spawn_adjacent
from hypothesis import given, settings
from hypothesis import strategies as st

from game import messages, runs, saves
from game.autoplay import play
from game.combat.envelope import power_cap
from game.combat.judge import RulesResolver
from game.combat.state import ACTIONS, CHANNELS, SLOTS, CombatState
from game.combat_turn import resolve_turn
from game.content import ContentError, load_content
from game.paths import run_file
from game.session import GameSession
from game.tui.app import create_app
from game.tui.screens import EndScreen, GameScreen, HelpScreen, HistoryLog, RunsScreen, TitleScreen

ROOT = Path(__file__).resolve().parents[1]


def _session(content, seed: int = 8, run_id: str | None = None, turns: int = 0) -> GameSession:
    s = GameSession.new(content, seed, run_id)
    return play(s, turns, seed=1) if turns else s


def _log(app) -> str:
    return "\n".join(m.text for m in app.session.messages.items)


def _save_dict(s: GameSession) -> dict:
    return json.loads(json.dumps(saves.session_to_dict(s)))


# ====================================================================== A. destroying what is not ours

def test_a_save_over_another_runs_directory_keeps_that_run_first(content, tmp_path):
    """Palette "Save to another directory…" -> A, then "Save game": A's run was gone, with no copy in kept/."""
    a = _session(content, 8, "run-a", 30)
    saves.save_game(a, tmp_path)
    saves.save_game(a, tmp_path)  # save.json and .bak are run A
    b = _session(content, 9, "run-b")
    saves.save_game(b, tmp_path)
    kept = tmp_path / saves.KEPT_DIR / "run-a.json"
    assert saves.load_file(kept, content).turns == a.turns
    reported: list[Path] = []
    for _ in range(3):  # save.json and then .bak become run B: A lives on in kept/
        saves.save_game(b, tmp_path, reported)
    assert reported == [] and saves.load_game(tmp_path, content).run_id == "run-b"
    assert [p.name for p in kept.parent.iterdir()] == ["run-a.json"]
    assert saves.load_file(kept, content).turns == a.turns
    c = _session(content, 10, "run-c")
    saves.save_game(c, tmp_path, reported)  # the copies made are reported (the app says where they went)
    assert reported == [tmp_path / saves.KEPT_DIR / "run-b.json"]


def test_another_runs_backup_and_temp_files_are_kept_too(content, tmp_path):
    """save.json unusable, the backup and a temp file hold other runs: both are kept before anything is written."""
    for name, run, turns in ((saves.BACKUP_NAME, "run-a", 10), (".save.json.x1.tmp", "run-c", 20)):
        (tmp_path / name).write_text(json.dumps(_save_dict(_session(content, 8, run, turns))))
    saves.save_path(tmp_path).write_text("{ torn")
    saves.save_game(_session(content, 9, "run-b"), tmp_path)
    assert sorted(p.name for p in (tmp_path / saves.KEPT_DIR).iterdir()) == ["run-a.json", "run-c.json"]
    saves.save_game(_session(content, 9, "run-b"), tmp_path)  # what was the backup is replaced now: it was kept
    assert saves.load_file(tmp_path / saves.KEPT_DIR / "run-a.json", content).turns > 0


def test_when_another_run_cannot_be_kept_nothing_is_written_over_it(content, tmp_path):
    a = _session(content, 8, "run-a", 10)
    saves.save_game(a, tmp_path)
    before = saves.save_path(tmp_path).read_bytes()
    (tmp_path / saves.KEPT_DIR).write_text("a file where kept/ should be")
    with pytest.raises(saves.SaveWriteError, match="run-a"):
        saves.save_game(_session(content, 9, "run-b"), tmp_path)
    assert saves.save_path(tmp_path).read_bytes() == before


def test_a_kept_copy_is_never_overwritten_by_something_else(content, tmp_path):
    """kept/<run>.json holding a newer state of that run, or another file, gets a sibling, not an overwrite."""
    a = _session(content, 8, "run-a", 10)
    saves.save_game(a, tmp_path)
    kept_dir = tmp_path / saves.KEPT_DIR
    kept_dir.mkdir()
    (kept_dir / "run-a.json").write_text("my notes, not a save")
    assert saves.keep_run(tmp_path, content) == kept_dir / "run-a-1.json"
    assert (kept_dir / "run-a.json").read_text() == "my notes, not a save"
    play(a, 10, seed=2)
    saves.save_game(a, tmp_path)
    assert saves.keep_run(tmp_path, content) == kept_dir / "run-a-1.json"  # a newer state of the same run
    assert saves.load_file(kept_dir / "run-a-1.json", content).turns == a.turns


async def test_palette_save_elsewhere_keeps_the_living_run_there(content, tmp_path, run_app):
    dir_a, dir_b = tmp_path / "A", tmp_path / "B"
    a = _session(content, 8, "run-a", 25)
    saves.save_game(a, dir_a)
    async with run_app(seed=6, save_dir=dir_b) as (app, pilot):
        clear_monsters(app.session)
        await pilot.press("l")
        app.save_elsewhere(dir_a)
        await pilot.pause()
        assert "kept in" in _log(app) and "run-a" in _log(app)
        app._palette_save()
    assert saves.load_file(dir_a / saves.KEPT_DIR / "run-a.json", content).turns == a.turns
    assert saves.load_game(dir_a, content).run_id == app.session.run_id


def test_continue_orders_saves_by_their_sequence_not_the_clock(content, tmp_path, monkeypatch):
    """The clock stepped back an hour for one session: a run played to T15 resumed at T5 from .bak."""
    s = _session(content, 8, "run-a")
    play(s, 5, seed=1)
    saves.save_game(s, tmp_path)
    now = time.time()
    monkeypatch.setattr(saves.time, "time", lambda: now - 3600)  # the next session's clock is an hour behind
    s = saves.load_game(tmp_path, content)
    play(s, 10, seed=2)
    saves.save_game(s, tmp_path)  # save.json: T15, saved "an hour ago"; .bak: T5, saved now
    loaded = saves.load_newest(tmp_path, content)
    assert loaded.path.name == saves.SAVE_NAME and loaded.session.turns == s.turns
    assert json.loads(saves.save_path(tmp_path).read_text())["save_seq"] == 2


def test_a_new_runs_first_save_outranks_the_old_runs_files(content, tmp_path):
    a = _session(content, 8, "run-a", 10)
    for _ in range(5):
        saves.save_game(a, tmp_path)  # sequence 5
    b = _session(content, 9, "run-b")
    saves.save_game(b, tmp_path)
    assert saves.load_newest(tmp_path, content).session.run_id == "run-b"


def test_older_save_versions_still_load_and_order_by_turns_then_time(content, tmp_path):
    old, new = _save_dict(_session(content, 8, "run-a", 5)), _save_dict(_session(content, 8, "run-a", 15))
    for d, saved_at in ((old, 2000.0), (new, 1000.0)):  # the newer run state has the older clock
        d["save_version"] = 2
        del d["save_seq"]
        d["saved_at"] = saved_at
    saves.save_path(tmp_path).write_text(json.dumps(new))
    (tmp_path / saves.BACKUP_NAME).write_text(json.dumps(old))
    loaded = saves.load_newest(tmp_path, content)
    assert loaded.path.name == saves.SAVE_NAME and loaded.session.turns == new["turns"]
    # a version-3 or later save (any sequence number) is newer than every older-version file
    v3 = _save_dict(_session(content, 8, "run-a", 1))
    (tmp_path / ".save.json.k.tmp").write_text(json.dumps(v3))
    assert saves.load_newest(tmp_path, content).path.name == ".save.json.k.tmp"
    assert saves.SAVE_VERSION == 4 and saves.OLDEST_READABLE == 1


def test_permadeath_deletes_only_this_runs_files(content, tmp_path):
    a, b = _session(content, 8, "run-a", 10), _session(content, 9, "run-b", 10)
    (tmp_path / ".save.json.z.tmp").write_text(json.dumps(_save_dict(a)))  # another run's leftover
    saves.save_game(b, tmp_path)
    saves.save_game(b, tmp_path)
    (tmp_path / ".save.json.d.tmp").mkdir()  # not a file: left alone, and no crash
    saves.delete_save(tmp_path, content, "run-b")
    assert saves.load_game(tmp_path, content).run_id == "run-a"
    assert not saves.save_path(tmp_path).exists() and (tmp_path / ".save.json.d.tmp").is_dir()


# ====================================================================== B. one validator

def _with_monster(content, turns: int = 0) -> tuple[GameSession, dict]:
    s = _session(content, 8, "run-a", turns)
    clear_monsters(s)
    spawn_adjacent(s, "orc")
    return s, _save_dict(s)


def test_a_monster_the_rules_cannot_fight_is_refused_naming_the_field(content):
    """power 95 passed the old validator (<= 99) and crashed the first turn: ValueError, exit 1, every Continue."""
    _, d = _with_monster(content)
    where = re.escape(f"floors.{d['depth']}.monsters[0].body")
    body = d["floors"][str(d["depth"])]["monsters"][0]["body"]
    body["power"] = 95
    with pytest.raises(saves.SaveError, match=rf"{where}: power: expected at most {power_cap(content.rules)}"):
        saves.session_from_dict(d, content)
    body["power"] = 3
    body["statuses"][CHANNELS.index("fragile")] = [content.rules.ignite_fragile + 1, 2]
    with pytest.raises(saves.SaveError, match=rf"{where}: fragile"):
        saves.session_from_dict(d, content)


def test_a_dead_player_is_not_a_save(content):
    _, d = _with_monster(content)
    d["player"]["body"]["hp"] = 0
    with pytest.raises(saves.SaveError, match=r"player\.body\.hp"):
        saves.session_from_dict(d, content)


@st.composite
def _bodies(draw):
    """Bodies over the whole of what the old validator accepted (every number 0..99, durations 0..9), most of
    them near the legal state so that many load."""
    max_hp = draw(st.integers(0, 99))
    statuses = []
    for ch in CHANNELS:
        if draw(st.integers(0, 3)) == 0:
            magnitude = 0 if ch == "stun" and draw(st.booleans()) else draw(st.integers(0, 99))
            statuses.append([magnitude, draw(st.integers(0, 9))])
        else:
            statuses.append(None)
    return {"hp": draw(st.integers(0, min(99, max_hp + 1))), "max_hp": max_hp, "power": draw(st.integers(0, 99)),
            "armor": draw(st.integers(0, 99)), "cooldowns": [draw(st.integers(0, 9)) for _ in SLOTS],
            "statuses": statuses}


@pytest.fixture(scope="module")
def base(content) -> dict:
    """A saved session with an orc next to the player."""
    return _with_monster(content)[1]


def _fight_every_way(s: GameSession) -> None:
    """Every action, every roll, both ways between the player and each monster in reach: no exception."""
    rules, resolver = s.content.rules, RulesResolver(s.content.rules)
    p = s.player
    for m in s.floor.monsters:
        for actor, target in ((p.body, m.body), (m.body, p.body)):
            for action in ACTIONS:
                for roll in range(1, rules.roll_max + 1):
                    resolve_turn(CombatState(m.fight_turn, actor, target), action, roll, resolver, None, "rules")


@settings(max_examples=150, deadline=None)
@given(_bodies(), _bodies(), st.integers(0, 99))
def test_any_body_the_save_validator_accepts_can_fight(content, base, monster_body, player_body, fight_turn):
    d = json.loads(json.dumps(base))
    m = d["floors"][str(d["depth"])]["monsters"][0]
    m["body"], m["fight_turn"] = monster_body, fight_turn
    d["player"]["body"] = player_body
    try:
        s = saves.session_from_dict(d, content)
    except saves.SaveError as exc:
        assert ".body" in str(exc)  # the message names the field
        return
    _fight_every_way(s)


@pytest.mark.parametrize("run_id", ["../../escape/newdir/pwn", "/tmp/absolute", "a\u0000b", ".hidden", "",
                                    "a/b", "x" * 101, "run\u001b[8m", 7])
def test_a_run_id_that_is_not_a_plain_name_is_refused(content, tmp_path, run_id):
    d = _save_dict(_session(content, 8, "run-a"))
    d["run_id"] = run_id
    saves.save_path(tmp_path).write_text(json.dumps(d))
    with pytest.raises(saves.SaveError, match="run_id"):
        saves.load_game(tmp_path, content)
    if isinstance(run_id, str):
        with pytest.raises(ValueError):
            run_file(tmp_path, run_id, ".jsonl")


async def test_continue_with_an_escaping_run_id_creates_nothing_outside(content, tmp_path, run_app):
    save_dir = tmp_path / "a" / "b"
    s = _session(content, 8, "run-a")
    clear_monsters(s)
    spawn_adjacent(s, "rat")
    d = _save_dict(s)
    d["run_id"] = "../../escape/newdir/pwn"
    save_dir.mkdir(parents=True)
    saves.save_path(save_dir).write_text(json.dumps(d))
    async with run_app(seed=5, save_dir=save_dir, new_game=False) as (app, pilot):
        await pilot.press("c")
        assert isinstance(app.screen, TitleScreen) and "run_id" in str(app.screen.query_one("#title-notice").content)
    assert not (tmp_path / "escape").exists() and app.return_code in (0, None)


@pytest.mark.parametrize("name", [saves.SAVE_NAME, ".save.json.x.tmp"])
def test_a_directory_among_the_saves_is_named_and_the_others_still_load(content, tmp_path, name):
    s = _session(content, 8, "run-a", 10)
    if name == saves.SAVE_NAME:
        saves.save_game(s, tmp_path)
        saves.save_game(s, tmp_path)
        saves.save_path(tmp_path).unlink()
    else:
        saves.save_game(s, tmp_path)
    (tmp_path / name).mkdir()
    loaded = saves.load_newest(tmp_path, content)
    assert loaded.session.turns == s.turns
    assert [(p.name, "a directory" in why) for p, why in loaded.broken] == [(name, True)]
    with pytest.raises(saves.SaveError, match="a directory, not a save file"):
        saves.load_file(tmp_path / name, content)


async def test_continue_and_load_with_a_directory_do_not_crash(content, tmp_path, run_app):
    s = _session(content, 8, "run-a", 10)
    saves.save_game(s, tmp_path)
    (tmp_path / ".save.json.x.tmp").mkdir()
    async with run_app(seed=5, new_game=False) as (app, pilot):
        await pilot.press("c")
        assert isinstance(app.screen, GameScreen) and app.session.turns == s.turns
        assert "left where it is" in _log(app)
    assert (tmp_path / ".save.json.x.tmp").is_dir()
    app = create_app(seed=5, save_dir=tmp_path / "other", content=content)
    app.load_path = str(tmp_path / ".save.json.x.tmp")
    async with app.run_test():
        assert isinstance(app.screen, TitleScreen)
        assert "a directory" in str(app.screen.query_one("#title-notice").content)
    assert app.return_code in (0, None)


HOSTILE_RUNS = {
    "5000 digits": '[{"seed": ' + "9" * 5000 + "}]",
    "100000 [": "[" * 100_000,
    "huge": "[" + " " * (runs.MAX_RUNS_BYTES + 10) + "]",
    "not utf-8": b"\xff\xfe[]",
    "a bool seed": '[{"seed": true}]',
    "control characters": json.dumps([{"seed": 1, "depth": 1, "cause": "x\u001b[8m", "turns": 1, "resolver": "rules",
                                       "divergences": 0, "won": False, "when": "now", "kills": 0, "level": 1}]),
}


@pytest.mark.parametrize("name", list(HOSTILE_RUNS))
def test_a_hostile_run_table_is_a_runs_error_and_set_aside_at_the_next_run_end(content, tmp_path, name):
    path = runs.runs_path(tmp_path)
    path.parent.mkdir(parents=True)
    text = HOSTILE_RUNS[name]
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(runs.RunsError, match=r"runs\.json"):
        runs.load_runs(tmp_path)
    s = _session(content)
    s.dead, s.cause = True, "killed by a rat"
    runs.record_run(s, tmp_path)
    assert len(runs.load_runs(tmp_path)) == 1
    aside = list(path.parent.glob("runs.broken-*.json"))
    assert len(aside) == 1 and aside[0].read_bytes() == (text if isinstance(text, bytes) else text.encode())


def test_broken_run_tables_set_aside_in_one_second_never_overwrite_each_other(content, tmp_path):
    path = runs.runs_path(tmp_path)
    path.parent.mkdir(parents=True)
    s = _session(content)
    for i in range(3):
        path.write_text(f"broken {i}")
        runs.record_run(s, tmp_path)
    assert sorted(p.read_text() for p in path.parent.glob("runs.broken-*.json")) == [f"broken {i}" for i in range(3)]


async def test_a_hostile_run_table_crashes_neither_the_title_nor_the_death_screen(tmp_path, run_app):
    path = runs.runs_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("[" * 100_000)
    async with run_app(seed=5, new_game=False) as (app, pilot):
        await pilot.press("r")
        assert isinstance(app.screen, RunsScreen) and "runs.json" in str(app.screen.query_one("#runs").content)
        await pilot.press("escape", "n")
        assert isinstance(app.screen, GameScreen)
        app.session.dead, app.session.cause = True, "killed by a rat"
        app.end_run()
        await pilot.pause()
        assert isinstance(app.screen, EndScreen)
    assert app.return_code in (0, None)
    assert len(runs.load_runs(tmp_path)) == 1 and list(path.parent.glob("runs.broken-*.json"))


def _content_copy(content, tmp_path: Path, file: str, old: str, new: str) -> Path:
    directory = tmp_path / "content"
    shutil.copytree(content.directory, directory)
    text = (directory / file).read_text()
    assert old in text
    (directory / file).write_text(text.replace(old, new, 1))
    return directory


async def test_markup_in_content_names_is_shown_as_written(content, tmp_path, run_app):
    """A monster named `rat [/]` crashed the ? help (MarkupError)."""
    marked = load_content(_content_copy(content, tmp_path, "monsters.toml", 'name = "rat"', 'name = "rat [/]"'))
    async with run_app(seed=5, save_dir=tmp_path / "saves", content=marked) as (app, pilot):
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "rat [/]" in str(app.screen.query_one("#help").render())
    assert app.return_code in (0, None)


async def test_markup_in_paths_and_the_search_box_is_shown_as_written(content, tmp_path):
    """A save directory containing `[/]` crashed when a save failed (notify); so did `[/]` typed in the history."""
    save_dir = tmp_path / "a[/]b"
    saves.save_path(save_dir).mkdir(parents=True)
    app = create_app(seed=5, save_dir=save_dir, new_game=True, content=content)
    app.list_models = lambda: [Path("/nowhere/x[/]")]  # a model directory's name goes into the palette
    async with app.run_test() as pilot:
        clear_monsters(app.session)
        await pilot.press("ctrl+q")  # the save fails: a notification names the path
        await pilot.pause()
        assert app.is_running and "Could not save" in _log(app)
        await pilot.press("ctrl+p", *"use")
        await pilot.pause(0.3)
        await pilot.press("escape")
        await pilot.press("M", *"[/]")
        await pilot.pause()
        assert "1 lines match '[/]'" in str(app.screen.query_one("#history-title").render())
        await pilot.press("escape")
        app._ask_save_dir()  # the last save's problem is shown above the directory field
        await pilot.pause()
        assert "a[/]b" in str(app.screen.query_one("#savedir-problem").render())
    assert app.return_code in (0, None)


@pytest.mark.parametrize("file, old, new, key", [
    ("monsters.toml", 'name = "rat"', 'name = "rat\\u001b[8m"', "monster[0].name"),
    ("player.toml", 'glyph = "@"', 'glyph = "\\u001b"', "player.glyph"),
    ("items.toml", 'name = "antidote"', 'name = "anti\\u0085dote"', "item[2].name"),
    ("monsters.toml", 'glyph = "r"', 'glyph = "\\u732b"', "monster[0].glyph"),  # two cells wide
])
def test_control_characters_in_content_strings_are_refused_naming_file_and_key(content, tmp_path, file, old, new, key):
    directory = _content_copy(content, tmp_path, file, old, new)
    with pytest.raises(ContentError) as err:
        load_content(directory)
    assert err.value.file.endswith(file) and err.value.key == key


def _load_in_thread(directory: Path) -> BaseException | None:
    box: list[BaseException | None] = []

    def work() -> None:
        try:
            load_content(directory)
            box.append(None)
        except BaseException as exc:  # handed to the test
            box.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(10)
    assert box, "load_content hung on a special file"
    return box[0]


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_a_special_file_as_content_is_a_clear_content_error(content, tmp_path, kind):
    directory = _content_copy(content, tmp_path, "rules.toml", "[rules]", "[rules]")
    target = directory / "rules.toml"
    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    else:
        target.symlink_to("/dev/zero")
    err = _load_in_thread(directory)
    assert isinstance(err, ContentError) and err.file == str(target) and err.key == "(file)"


def test_rpg_tui_with_a_fifo_as_content_exits_2_at_once(content, tmp_path):
    directory = _content_copy(content, tmp_path, "rules.toml", "[rules]", "[rules]")
    (directory / "rules.toml").unlink()
    os.mkfifo(directory / "rules.toml")
    env = {**os.environ, "RPG_CONTENT_DIR": str(directory), "PYTHONPATH": str(ROOT)}
    for cmd in (["game.tui.cli", "--new"], ["brain.cli", "resolve"]):
        out = subprocess.run([sys.executable, "-m", *cmd], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL)
        assert out.returncode == 2 and "named pipe" in out.stderr and "Traceback" not in out.stderr


# ---------------------------------------------------------------------- command-line numbers

@pytest.mark.parametrize("value", ["1e10", "inf", "nan", "-1", "0", "-inf", "x"])
def test_a_time_limit_that_is_not_a_sane_number_of_seconds_is_an_argparse_error(value, capsys):
    from game.tui.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--time-limit", value, "--list-models"])
    assert exc.value.code == 2 and "--time-limit" in capsys.readouterr().err


def _brain(*args: str, stdin: str = "", **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "brain.cli", *args], cwd=ROOT, input=stdin, text=True,
                          capture_output=True, timeout=60, **kwargs)


BLOCK = "t00 A hp10/10 pw05 ar00 cd000000 B hp10/10 pw03 ar00 cd000000 do attack r3\n"


def test_resolve_refuses_a_batch_below_one():
    for batch in ("0", "-3"):
        out = _brain("resolve", "--resolver", "model", "--batch", batch, stdin=BLOCK)
        assert out.returncode == 2 and "--batch" in out.stderr


def test_resolve_with_stdout_closed_exits_non_zero_without_a_traceback():
    out = subprocess.run([sys.executable, "-m", "brain.cli", "resolve"], cwd=ROOT, input=BLOCK, text=True,
                         stdout=None, stderr=subprocess.PIPE, timeout=60, preexec_fn=lambda: os.close(1))
    assert out.returncode != 0 and "Traceback" not in out.stderr and "stdout" in out.stderr
    out = subprocess.run(f"{sys.executable} -m brain.cli resolve 1</dev/null", shell=True, cwd=ROOT, input=BLOCK,
                         text=True, stderr=subprocess.PIPE, timeout=60)
    assert out.returncode != 0 and "Traceback" not in out.stderr


# ====================================================================== C. what a save carries; one seed range

def test_a_save_with_10_mb_of_messages_loads_bounded(content):
    s = _session(content)
    d = _save_dict(s)
    d["messages"] = [["x\u001b" * 4999, "[rules]", "info", 1] for _ in range(1000)]
    loaded = saves.session_from_dict(d, content)
    assert len(loaded.messages.items) == messages.SAVED
    assert all(len(m.text) <= messages.MAX_TEXT and "\u001b" not in m.text for m in loaded.messages.items)
    assert len(loaded.messages.to_json()) <= messages.SAVED
    d["messages"] = [["x", "", "info", 1]] * (messages.LIMIT + 1)
    with pytest.raises(saves.SaveError, match="messages"):
        saves.session_from_dict(d, content)


async def test_the_history_draws_only_the_rows_in_view(run_app, monkeypatch):
    """10 MB of messages made the history take 4.4 s to open and 10 s per search key: a Static laid out all of
    it. Now each search key redraws the rows in view."""
    drawn: list[int] = []
    real = HistoryLog.render_line
    monkeypatch.setattr(HistoryLog, "render_line", lambda self, y: drawn.append(y) or real(self, y))
    async with run_app(seed=5) as (app, pilot):
        for i in range(messages.LIMIT):
            app.session.messages.add(f"{i} " + "y" * 300, "info")
        await pilot.press("M")
        await pilot.pause()
        await pilot.pause()
        log = app.screen.query_one(HistoryLog)
        assert log.virtual_size.height >= messages.LIMIT and log.scroll_y == log.max_scroll_y
        drawn.clear()
        await pilot.press("7")
        await pilot.pause()
        assert 0 < len(drawn) <= 3 * log.size.height


async def test_one_seed_range_for_the_command_line_the_title_and_saves(content, run_app, capsys):
    from game.tui.cli import main

    assert saves.seed_problem(2**63) is None and saves.seed_problem(-(2**63)) is None
    assert saves.seed_problem(2**63 + 1) is not None
    with pytest.raises(SystemExit):
        main(["--seed", str(2**63 + 1), "--list-models"])
    assert saves.SEED_RANGE in capsys.readouterr().err
    d = _save_dict(_session(content))
    d["seed"] = 2**63 + 1
    with pytest.raises(saves.SaveError, match="seed"):
        saves.session_from_dict(d, content)
    async with run_app(seed=5, new_game=False) as (app, pilot):
        app.screen.query_one("#seed").value = str(2**63 + 1)
        await pilot.press("n")
        assert isinstance(app.screen, TitleScreen)
        assert saves.SEED_RANGE in str(app.screen.query_one("#title-notice").content)


def test_the_save_reader_is_one_pass():
    """No second checker beside the builder (game/saves.py used to check a save, then parse it again)."""
    assert not hasattr(saves, "check_save") and not hasattr(saves, "_check_body") and not hasattr(saves, "_count")
