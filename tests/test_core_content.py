"""Content files: the shipped ones load; broken ones name file, key path and expectation; every number is
checked against the legal state and, when there is one, a model's envelope (both sides of a fight)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from envelopes import NARROW, WIDE, envelope

from game.combat import Ruleset
from game.combat.envelope import power_cap
from game.content import ContentError, default_content_dir, load_content
from game.shipped import load_game_content


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    d = tmp_path / "content"
    shutil.copytree(default_content_dir(), d)
    return d


def test_shipped_content_loads_and_matches_default_ruleset():
    c = load_content()
    assert c.rules == Ruleset()  # rules tests pin these numbers; change both together
    assert c.rules.ruleset_id.startswith("rs-")
    for m in c.monsters:
        assert m.hp <= 99 and m.power <= power_cap(c.rules), m.name


def test_shipped_content_is_made_for_the_wide_envelope():
    """The content the game ships is designed for the wide model (the whole format): it loads against it, and
    it does reach past a narrow model's (monsters of 60 to 99 hp, power into the 20s)."""
    c = load_content(envelope=WIDE)
    assert max(m.hp for m in c.monsters) >= 90 and max(m.power for m in c.monsters) >= 20
    assert c.dungeon.depths >= 10
    with pytest.raises(ContentError):
        load_content(envelope=NARROW)


def test_the_game_says_where_its_content_reaches_past_the_shipped_model(monkeypatch):
    """The game checks its content against the envelope of the model that ships with it. Were the shipped model
    a narrow one, the content would reach past it: the game still loads it (held to the legal state) and names
    the first value past the model's bound, file, key and bound."""
    import game.shipped

    monkeypatch.delenv("RPG_CONTENT_DIR", raising=False)
    monkeypatch.setattr(game.shipped, "shipped_envelope", lambda: NARROW)
    c = load_game_content()
    assert c.monsters and c.dungeon.depths >= 10
    with pytest.raises(ContentError) as exc:
        load_content(envelope=NARROW, whose="the shipped model (default)")
    assert c.beyond_model == str(exc.value)
    assert "player.toml" in c.beyond_model and "the envelope of the shipped model (default)" in c.beyond_model
    assert load_game_content(default_content_dir()).beyond_model == ""  # content of one's own: the legal state


def test_the_shipped_model_covers_the_shipped_content(monkeypatch):
    monkeypatch.delenv("RPG_CONTENT_DIR", raising=False)
    assert load_game_content().beyond_model == ""


@pytest.mark.parametrize("env, file, old, new, key, expected", [
    (None, "rules.toml", "crit_bonus = 3", 'crit_bonus = "three"', "rules.crit_bonus", "an integer in 0..99"),
    (None, "rules.toml", "heal = 3", "heal = 0", "rules.cooldowns.heal", "an integer in 1..9"),
    (None, "rules.toml", "poison_turns = 3", "poison_turns = 12", "rules.poison_turns",
     "a value in 1..9 (the legal state)"),
    (NARROW, "rules.toml", "poison_turns = 3", "poison_turns = 5", "rules.poison_turns",
     "a value in 1..4 (the envelope of the model: A.poison.turns 1..4)"),
    (None, "rules.toml", "roll_max = 6", "roll_max = 12", "rules.roll_max", "roll_max <= 9"),
    (None, "monsters.toml", "\npower = 2", "\npower = 95", "monster[0].power",
     "a value in 1..88 (the legal state: power + roll_max"),  # the strike must fit two digits: power_cap
    (envelope(power=33), "monsters.toml", "\npower = 2", "\npower = 34", "monster[0].power",
     "a value in 1..33 (the envelope of the model: A.power 0..33)"),
    (None, "monsters.toml", "actions = { attack = 1.0 }", "actions = { dance = 1.0 }", "monster[0].actions.dance",
     "an action from"),
    (None, "monsters.toml", 'glyph = "r"', 'glyph = "rr"', "monster[0].glyph", "a single character"),
    (None, "monsters.toml", 'tactic = "healer"', 'tactic = "coward"', "monster[3].tactic", "one of weights"),
    (None, "items.toml", 'effect = "restore_hp"', 'effect = "explode"', "item[0].effect", "one of"),
    (None, "items.toml", 'value = "ignite"', 'value = "fly"', "item[6].value", "a special action"),
    (None, "dungeon.toml", "depths = 10", "depths = 0", "dungeon.depths", "an integer in 1..30"),
    (None, "player.toml", 'actions = ["attack",', 'actions = ["kick",', "player.actions", "a list of actions"),
    (envelope(actions=("attack", "wait", "heal", "guard")), "player.toml", '"brace", ', '"brace", ',
     "player.actions", "actions the model was trained on"),  # the player knows brace; the model was never taught it
    (NARROW, "player.toml", "max_power = 28", "max_power = 28", "player.progression.max_hp",
     "a value in 40..48 (the envelope of the model: A.max_hp 1..48)"),
    (None, "player.toml", "might = { power = 2 }", "might = { speed = 2 }", "player.boons.might.speed", "one of"),
    (None, "dungeon.toml", "[dungeon]", "[dungeon", "(syntax)", "valid TOML"),
])
def test_bad_content_is_named(content_dir, env, file, old, new, key, expected):
    path = content_dir / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ContentError) as info:
        load_content(content_dir, env)
    err = info.value
    assert err.file == str(path) and err.key == key and expected in err.expected, str(err)
    assert str(path) in str(err)


def test_a_monster_must_fit_both_sides_of_a_fight(content_dir):
    """A monster acts (A) and is acted on (B): an envelope wide on one side only refuses what the other lacks."""
    wide = envelope()
    lopsided = type(wide)({**wide.bounds, "B.power": (0, 30)}, wide.actions, 120, "test", 1, "rs-test")
    with pytest.raises(ContentError) as info:
        load_content(content_dir, lopsided)
    assert info.value.key.endswith(".power") and "B.power 0..30" in info.value.expected


def test_missing_file(content_dir):
    (content_dir / "items.toml").unlink()
    with pytest.raises(ContentError, match=r"items.toml: \(file\): expected a TOML file"):
        load_content(content_dir)


def test_ruleset_id_tracks_every_constant():
    base = Ruleset()
    for name in Ruleset.field_names():
        changed = Ruleset(**{**base.__dict__, name: getattr(base, name) + 1})
        assert changed.ruleset_id != base.ruleset_id, name
