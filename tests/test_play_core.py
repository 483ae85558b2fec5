"""The game core for issue 15: monsters that never deadlock, actions, activities, items, progression inside the
model's ranges, saves of the new state, the run history, and a scripted player that can win."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from fakes import clear_monsters, spawn_adjacent
from hypothesis import given, settings
from hypothesis import strategies as st

from game import saves
from game.actions import Drop, PickUp, Special, Use, Wait
from game.activities import Explore, Rest, Run, StairsOrTravel
from game.ai import monster_turn
from game.autoplay import play
from game.combat.sampler import Ranges
from game.combat.state import MAX_TURN, Combatant
from game.content import load_content
from game.dungeon import FLOOR, WALL, Level, Room
from game.entities import Floor, Monster
from game.pathfind import distance_map
from game.runs import RunsError, load_runs, record_run
from game.session import GameSession

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def content():
    return load_content()


def _monster(content, kind: str, x: int, y: int, hp: int | None = None) -> Monster:
    spec = next(m for m in content.monsters if m.name == kind)
    return Monster(kind, x, y, Combatant(hp or spec.hp, spec.hp, spec.power, spec.armor), awake=True)


def _corridor_session(content, length: int = 8) -> GameSession:
    """A one-tile corridor: the player at its west end, a dead end to the east."""
    w, h = length + 2, 3
    tiles = [[WALL] * w for _ in range(h)]
    for x in range(1, length + 1):
        tiles[1][x] = FLOOR
    level = Level(w, h, tiles, [Room(1, 1, length, 1)], (1, 1), None)
    s = GameSession(content, 1)
    s.floors[1] = Floor(level, [], [])
    s.player.x, s.player.y = 1, 1
    s.update_fov()
    return s


def test_fleeing_monster_in_a_corridor_does_not_block_a_healthy_one(content):
    """The 727-rest deadlock: a 1-hp shaman fleeing into a dead end with a healthy orc behind it."""
    s = _corridor_session(content)
    shaman = _monster(content, "goblin shaman", 3, 1, hp=1)
    orc = _monster(content, "orc", 4, 1)
    s.floor.monsters += [shaman, orc]
    for _ in range(40):
        s.perform(Wait())
        if s.over:
            break
    assert s.stats.combat_turns > 0  # somebody came to fight


def _room_session(content) -> GameSession:
    w, h = 12, 8
    tiles = [[FLOOR if 0 < x < w - 1 and 0 < y < h - 1 else WALL for x in range(w)] for y in range(h)]
    s = GameSession(content, 1)
    s.floors[1] = Floor(Level(w, h, tiles, [Room(1, 1, w - 2, h - 2)], (1, 1), None), [], [])
    s.player.x, s.player.y = 1, 1
    s.update_fov()
    return s


def test_a_fled_monster_does_not_hover_in_view_for_ever(content):
    """Fled kobolds used to stay in view out of reach: now a fled one tires, turns and fights."""
    s = _room_session(content)
    kobold = _monster(content, "kobold", 6, 4, hp=2)  # under its flee_below: it runs
    s.floor.monsters.append(kobold)
    for _ in range(40):
        if s.stats.combat_turns or s.over:
            break
        s.perform(Wait())
    assert s.stats.combat_turns > 0


def test_spent_monster_out_of_sight_recovers(content):
    s = _corridor_session(content, length=30)
    shaman = _monster(content, "goblin shaman", 25, 1, hp=2)
    shaman.fled = content.dungeon.flee_steps
    s.floor.monsters.append(shaman)
    s.visible = set()
    for _ in range(content.dungeon.monster_regen_every * 3):
        s.turns += 1
        monster_turn(s, shaman, distance_map(s.level, (s.player.x, s.player.y)))
    assert shaman.body.hp > 2 and (shaman.x, shaman.y) == (25, 1)


def test_impossible_actions_spend_no_turn_and_say_why(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    cases = [(Special("ignite"), "You do not know ignite"), (Special("heal"), "No foe in reach for heal"),
             (PickUp(), "Nothing here to pick up"), (Use(0), "no such item"), (Drop(0), "no such item"),
             (StairsOrTravel(True), "You know of no stairs down")]
    for action, why in cases:
        assert not s.perform(action)
        assert why in s.messages.items[-1].text and s.turns == 0


def test_run_stops_at_a_wall_and_explore_uncovers_the_level(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    s.floor.items.clear()
    for d in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        s.perform(Run(*d))
    seen = sum(map(sum, s.level.seen))
    for _ in range(60):
        if not s.perform(Explore()):
            break
    assert sum(map(sum, s.level.seen)) > seen and "Nothing left to explore" in s.messages.items[-1].text
    assert s.level.seen[s.level.down[1]][s.level.down[0]]
    assert s.perform(StairsOrTravel(True)) and (s.player.x, s.player.y) == s.level.down


def test_explore_stops_when_a_monster_comes_into_view(content):
    s = GameSession.new(content, 3)
    s.floor.items.clear()
    stopped = False
    for _ in range(200):
        if s.visible_monsters() or s.over:
            stopped = True
            break
        s.perform(Explore())
    assert stopped
    assert not s.perform(Explore()) or s.over
    assert "Not while a monster is near" in s.messages.items[-1].text or s.over


def test_rest_heals_and_readies(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    s.player.body = replace(s.player.body, hp=30).with_cooldown("guard", 3)
    assert s.perform(Rest())
    assert s.player.body.hp == s.player.body.max_hp and s.player.body.cooldown("guard") == 0
    assert not s.perform(Rest()) and "rested already" in s.messages.items[-1].text


def test_new_items(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    p = s.player
    p.inventory = ["throwing knife", "throwing knife", "scroll of thunder", "leather armour", "berserker brew"]
    assert not s.perform(Use(0)) and p.inventory.count("throwing knife") == 2  # nothing in sight: kept
    m, _ = spawn_adjacent(s, "orc")
    s.update_fov()
    assert s.perform(Use(0)) and m.body.hp == m.body.max_hp - (6 - m.body.armor)
    spawn_adjacent(s, "rat")
    hp = [x.body.hp for x in s.floor.monsters]
    assert s.perform(Use(1))  # thunder hits both
    assert all(x.body.hp < h for x, h in zip(s.floor.monsters, hp, strict=False)) or len(s.floor.monsters) < 2
    armor = p.body.armor
    assert s.perform(Use(1)) and p.worn == "leather armour" and p.body.armor == armor + 1
    power = p.body.power
    assert s.perform(Use(1)) and p.body.power == power + 2 and p.body.armor == armor
    assert p.inventory == ["throwing knife"]


def test_progression_levels_up_on_kills(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    power = s.player.body.power
    s.kill(_monster(content, "bog troll", 0, 0))  # 34 xp: past level 2's 20
    assert s.player.level == 2 and s.player.body.power == power + 1


CONTENT_FILES = sorted((ROOT / "content").glob("*.toml"))


def test_every_reachable_number_is_inside_the_training_ranges(content):
    """Whatever is drunk, worn or earned, hp / power / armour stay inside game/combat/sampler.Ranges."""
    r = Ranges()
    prog = content.player.progression
    assert content.player.hp <= r.max_hp and prog.max_power <= r.power and prog.max_armor <= r.armor
    for m in content.monsters:
        assert m.hp <= r.max_hp and m.power <= r.power and m.armor <= r.armor, m.name
    for i in content.items:
        if i.effect == "restore_hp":
            assert i.value >= 1  # capped at max hp by the effect
    # a fight has no turn limit (the counter saturates at MAX_TURN): every turn it can show is trained on,
    # iid up to MAX_TURN - 1 and the saturated MAX_TURN as an edge (a model trained to 49 miswrote t60 as t50)
    assert r.turn >= MAX_TURN - 1
    assert {p.name for p in CONTENT_FILES} >= {"player.toml", "monsters.toml", "items.toml"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["leather armour", "chain mail", "berserker brew", "kill"]), max_size=40))
def test_no_sequence_of_items_and_levels_leaves_the_ranges(content, steps):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    r = Ranges()
    for step in steps:
        if step == "kill":
            s.kill(_monster(content, "bone knight", 0, 0))
        else:
            s.player.inventory = [step]
            s.perform(Use(0))
        b = s.player.body
        assert 1 <= b.power <= r.power and 0 <= b.armor <= r.armor and b.hp <= b.max_hp <= r.max_hp


def test_save_round_trip_keeps_progression_and_reads_version_1(content, tmp_path):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    s.player.inventory = ["chain mail", "berserker brew"]
    s.perform(Use(0))
    s.perform(Use(0))
    s.kill(_monster(content, "bog troll", 0, 0))
    s.floor.monsters.append(_monster(content, "kobold", 1, 1))
    s.floor.monsters[-1].fled = 3
    saves.save_game(s, tmp_path)
    t = saves.load_game(tmp_path, content)
    for a, b in ((s.player, t.player),):
        assert (a.xp, a.level, a.worn, a.power_bonus, a.armor_bonus, a.body) == \
               (b.xp, b.level, b.worn, b.power_bonus, b.armor_bonus, b.body)
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


def test_run_history_is_kept_and_a_broken_table_is_set_aside(content, tmp_path):
    s = GameSession.new(content, 7)
    s.dead, s.cause = True, "killed by a rat"
    path = record_run(s, tmp_path)
    assert load_runs(tmp_path)[0]["cause"] == "killed by a rat" and path.parent.name == "morgue"
    path.write_text("{not json")
    with pytest.raises(RunsError, match=r"runs\.json"):
        load_runs(tmp_path)
    record_run(s, tmp_path)
    assert len(load_runs(tmp_path)) == 1 and list(path.parent.glob("runs.broken-*.json"))


def test_the_scripted_player_can_win(content):
    s = play(GameSession.new(content, 1002), 4000, seed=1002)
    assert s.won and s.max_depth == content.dungeon.depths


def test_a_thrown_knife_can_kill_and_the_kill_counts(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    rat, _ = spawn_adjacent(s, "rat", hp=2)
    s.update_fov()
    s.player.inventory = ["throwing knife"]
    assert s.perform(Use(0)) and not rat.alive and rat not in s.floor.monsters
    texts = [m.text for m in s.messages.items[-2:]]
    assert texts == ["You throw the throwing knife at the rat for 6.", "The rat dies."]
    assert s.stats.kills == 1 and s.player.xp == 6
