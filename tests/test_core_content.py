"""Content files: the shipped ones load; broken ones name file, key path and expectation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from game.combat import Ruleset
from game.combat.sampler import Ranges
from game.content import ContentError, default_content_dir, load_content


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    d = tmp_path / "content"
    shutil.copytree(default_content_dir(), d)
    return d


def test_shipped_content_loads_and_matches_default_ruleset():
    c = load_content()
    assert c.rules == Ruleset()  # rules tests pin these numbers; change both together
    assert c.rules.ruleset_id.startswith("rs-")
    r = Ranges()
    for m in c.monsters:
        assert m.hp <= r.max_hp and m.power <= r.power and m.armor <= r.armor


@pytest.mark.parametrize("file, old, new, key, expected", [
    ("rules.toml", "crit_bonus = 3", 'crit_bonus = "three"', "rules.crit_bonus", "an integer in 0..99"),
    ("rules.toml", "heal = 3", "heal = 0", "rules.cooldowns.heal", "an integer in 1..9"),
    ("rules.toml", "poison_turns = 3", "poison_turns = 12", "rules.poison_turns", "a duration in 1..4"),
    ("rules.toml", "roll_max = 6", "roll_max = 12", "rules.roll_max", "roll_max <= 9"),
    ("monsters.toml", "\nhp = ", "\nhp = 8", "monster[0].hp", "an integer in 1..48"),  # 6 -> 86
    ("monsters.toml", "actions = { attack = 1.0 }", "actions = { dance = 1.0 }", "monster[0].actions.dance",
     "an action from"),
    ("monsters.toml", 'glyph = "r"', 'glyph = "rr"', "monster[0].glyph", "a single character"),
    ("items.toml", 'effect = "restore_hp"', 'effect = "explode"', "item[0].effect", "one of"),
    ("items.toml", 'value = "ignite"', 'value = "fly"', "item[4].value", "a special action"),
    ("dungeon.toml", "depths = 6", "depths = 0", "dungeon.depths", "an integer in 1..30"),
    ("player.toml", 'actions = ["attack",', 'actions = ["kick",', "player.actions", "a list of actions"),
    ("dungeon.toml", "[dungeon]", "[dungeon", "(syntax)", "valid TOML"),
])
def test_bad_content_is_named(content_dir, file, old, new, key, expected):
    path = content_dir / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ContentError) as info:
        load_content(content_dir)
    err = info.value
    assert err.file == str(path) and err.key == key and expected in err.expected
    assert str(path) in str(err)


def test_missing_file(content_dir):
    (content_dir / "items.toml").unlink()
    with pytest.raises(ContentError, match=r"items.toml: \(file\): expected a TOML file"):
        load_content(content_dir)


def test_ruleset_id_tracks_every_constant():
    base = Ruleset()
    for name in Ruleset.field_names():
        changed = Ruleset(**{**base.__dict__, name: getattr(base, name) + 1})
        assert changed.ruleset_id != base.ruleset_id, name
