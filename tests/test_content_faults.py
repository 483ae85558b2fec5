"""Content that loaded but crashed later: unreadable files, relations between values, colours, training ranges."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from envelopes import NARROW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from game.combat.sampler import Ranges
from game.content import ContentError, default_content_dir, load_content, load_ruleset
from game.dungeon import generate
from game.session import GameSession

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    d = tmp_path / "content"
    shutil.copytree(default_content_dir(), d)
    return d


def _edit(d: Path, file: str, old: str, new: str) -> None:
    text = (d / file).read_text()
    assert old in text, old
    (d / file).write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("file", ["items.toml", "rules.toml"])
def test_a_directory_in_place_of_a_file_names_the_file(content_dir, file):
    (content_dir / file).unlink()
    (content_dir / file).mkdir()
    with pytest.raises(ContentError, match=file) as err:
        load_content(content_dir)
    assert "directory" in str(err.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads unreadable files")
def test_an_unreadable_file_names_the_file(content_dir):
    (content_dir / "items.toml").chmod(0)
    with pytest.raises(ContentError, match=r"items\.toml"):
        load_content(content_dir)


def test_a_dangling_link_names_the_file(content_dir):
    (content_dir / "items.toml").unlink()
    (content_dir / "items.toml").symlink_to(content_dir / "nowhere.toml")
    with pytest.raises(ContentError, match=r"items\.toml"):
        load_content(content_dir)


@pytest.mark.parametrize("env, file, old, new, key", [
    (None, "dungeon.toml", "room_size_min = 4", "room_size_min = 30", "dungeon.room_size_min"),
    (None, "dungeon.toml", "room_size_min = 4", "room_size_min = 21", "dungeon.room_size_min"),
    (None, "rules.toml", "crit_bonus = 3", "crit_bonus = 99", "rules.crit_bonus"),
    (None, "rules.toml", "crit_bonus = 3", "crit_bonus = 83", "rules.crit_bonus"),
    (NARROW, "rules.toml", "ignite_fragile = 2", "ignite_fragile = 9", "rules.ignite_fragile"),
    (NARROW, "rules.toml", "poison_turns = 3", "poison_turns = 7", "rules.poison_turns"),
    (NARROW, "rules.toml", "heal = 3", "heal = 8", "rules.cooldowns.heal"),
    (NARROW, "rules.toml", "shield_cap = 12", "shield_cap = 40", "rules.shield_cap"),
    (None, "rules.toml", "fatigue_turn = 20", "fatigue_turn = 100", "rules.fatigue_turn"),
    (None, "monsters.toml", 'color = "#a08060"', 'color = "blurple"', "monster[0].color"),
    (None, "items.toml", 'color = "#ff4060"', 'color = "#ff40"', "item[0].color"),
    (None, "player.toml", 'color = "bright_white"', 'color = "bold red"', "player.color"),
    (None, "player.toml", "start = 1800", "start = 9000", "player.hunger.start"),  # more than a stomach holds
])
def test_relations_and_ranges_are_checked_at_load(content_dir, env, file, old, new, key):
    _edit(content_dir, file, old, new)
    with pytest.raises(ContentError) as err:
        load_content(content_dir, env)
    assert err.value.key == key and file in err.value.file, str(err.value)


def test_a_crit_bonus_that_leaves_no_room_for_the_players_power_is_refused_at_the_power(content_dir):
    """power_cap (99 - roll_max - crit_bonus - ignite's fragile) falls below the content's powers: refused
    where the power is, saying why."""
    _edit(content_dir, "rules.toml", "crit_bonus = 3", "crit_bonus = 70")
    with pytest.raises(ContentError) as err:
        load_content(content_dir)
    assert err.value.key == "player.progression.max_power" and err.value.file.endswith("player.toml")
    assert "1..21" in err.value.expected and "fit two digits" in err.value.expected


def test_the_largest_accepted_crit_bonus_keeps_every_sampled_block_resolvable(content_dir, rules):
    """The loader's bound is exact: crit_bonus at the limit loads, and `sample` then writes only blocks
    that `resolve` accepts (before, crit_bonus = 99 made sample print blocks resolve rejects)."""
    from game.combat.envelope import check_case
    from game.combat.format import encode_input, parse_input
    from game.combat.sampler import sample

    limit = 99 - Ranges().power - rules.roll_max - Ranges().magnitude
    _edit(content_dir, "rules.toml", "crit_bonus = 3", f"crit_bonus = {limit}")
    edited = load_ruleset(content_dir)  # the rules alone: power_cap(edited) then refuses the shipped monsters
    for suite in ("iid", "edge"):
        for case in sample(suite, 300, 1, edited):
            assert check_case(*parse_input(encode_input(*case)), edited) is None
    _edit(content_dir, "rules.toml", f"crit_bonus = {limit}", f"crit_bonus = {limit + 1}")
    with pytest.raises(ContentError) as err:
        load_ruleset(content_dir)
    assert err.value.key == "rules.crit_bonus"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(width=st.integers(20, 200), height=st.integers(10, 100), lo=st.integers(3, 30), extra=st.integers(0, 27),
       seed=st.integers(0, 10**6))
def test_every_accepted_dungeon_generates(tmp_path_factory, width, height, lo, extra, seed):
    d = tmp_path_factory.mktemp("c")
    shutil.copytree(default_content_dir(), d, dirs_exist_ok=True)
    text = (d / "dungeon.toml").read_text()
    for key, value in (("width", width), ("height", height), ("room_size_min", lo),
                       ("room_size_max", min(30, lo + extra))):
        text = "\n".join(f"{key} = {value}" if line.split("=")[0].strip() == key else line
                         for line in text.splitlines())
    (d / "dungeon.toml").write_text(text)
    try:
        c = load_content(d)
    except ContentError as exc:
        assert exc.key == "dungeon.room_size_min"
        return
    g = c.dungeon
    generate(random.Random(seed), g.width, g.height, g.rooms_min, g.rooms_max, g.room_size_min, g.room_size_max,
             last=False)


def test_shipped_content_starts_a_game(content):
    GameSession.new(content, 1)


@pytest.mark.parametrize("broken", ["rules.toml", "items.toml"])
@pytest.mark.parametrize("cmd", [["game.tui.cli", "--new", "--save-dir", "S"], ["brain.cli", "sample", "--n", "1"],
                                 ["brain.cli", "arena", "--turns", "5", "--no-model", "--quiet", "--save-dir", "S"]])
def test_commands_print_the_error_and_exit_2(content_dir, tmp_path, cmd, broken):
    if broken == "items.toml" and "sample" in cmd:
        pytest.skip("sample reads rules.toml only")
    (content_dir / broken).unlink()
    (content_dir / broken).mkdir()
    env = {**os.environ, "RPG_CONTENT_DIR": str(content_dir), "PYTHONPATH": str(ROOT)}
    args = [str(tmp_path / "s") if a == "S" else a for a in cmd]
    res = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert res.returncode == 2, res.stderr
    assert broken in res.stderr and "Traceback" not in res.stderr
