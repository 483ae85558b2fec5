"""The game core for issue 15: monsters that never deadlock, actions, activities, items, progression inside the
model's ranges, saves of the new state, the run history, and a scripted player that can win."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from fakes import OffByOneModel, clear_monsters, spawn_adjacent
from hypothesis import given, settings
from hypothesis import strategies as st

from game import death, pack, saves
from game.actions import Drop, Move, PickUp, Special, Train, Use, Wait
from game.activities import Explore, Rest, Run, StairsOrTravel
from game.ai import monster_turn
from game.autoplay import play
from game.combat.envelope import combatant_problem, power_cap
from game.combat.state import MAX_VALUE, Combatant
from game.content import load_content
from game.dungeon import FLOOR, WALL, Level, Room
from game.entities import Floor, FloorItem, Monster
from game.pathfind import distance_map
from game.progression import recompute_body
from game.runs import RunsError, load_runs, record_run, resolver_summary
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
    knife, thunder = s.item_spec("throwing knife"), s.item_spec("scroll of thunder")
    assert not s.perform(Use(0)) and p.inventory.count("throwing knife") == 2  # nothing in sight: kept
    m, _ = spawn_adjacent(s, "orc")
    s.update_fov()
    assert s.perform(Use(0)) and m.body.hp == m.body.max_hp - (knife.value - m.body.armor)
    spawn_adjacent(s, "rat")
    hp = [x.body.hp for x in s.floor.monsters]
    assert s.perform(Use(1))  # thunder hits both
    assert all(x.body.hp < h for x, h in zip(s.floor.monsters, hp, strict=False)) or len(s.floor.monsters) < 2
    line = next(m.text for m in reversed(s.messages.items) if "erupts" in m.text)
    assert line.startswith(f"The scroll of thunder erupts in thunder: the orc takes {thunder.value - 2}") \
        and " and the rat " in line  # not "the orc 8"
    armor = p.body.armor
    assert s.perform(Use(2)) and p.worn == "leather armour" and p.body.armor == armor + 2  # c: letters kept
    power = p.body.power
    brew = s.item_spec("berserker brew")
    assert s.perform(Use(3)) and p.body.power == power + brew.value and p.body.armor == armor + 2 - brew.cost
    assert p.inventory == ["throwing knife"]


def test_progression_levels_up_on_kills_and_asks_for_a_boon(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    b, prog = s.player.body, content.player.progression
    death.slain(s, _monster(content, "orc", 0, 0))  # 30 xp: past level 2's 20
    assert s.player.level == 2 and s.player.unspent == 1
    assert s.player.body.power == b.power + prog.power_per_level
    assert s.player.body.max_hp == b.max_hp + prog.hp_per_level and s.player.body.hp == b.hp + prog.hp_per_level
    assert "Choose a boon (T)" in s.messages.items[-1].text
    assert not s.perform(Train("luck")) and "no boon called luck" in s.messages.items[-1].text
    power = s.player.body.power
    assert not s.perform(Train("might"))  # no turn passes: False, but the boon is taken
    assert s.player.training == {"might": 1} and s.player.unspent == 0
    assert s.player.body.power == power + prog.boons["might"].power
    assert not s.perform(Train("might")) and "no level-up to spend" in s.messages.items[-1].text


def test_two_runs_of_one_seed_differ_by_the_boons_chosen(content):
    """A build: the same seed and kills, might against vitality, give different bodies."""
    bodies = []
    for boon in ("might", "vitality"):
        s = GameSession.new(content, 3)
        death.slain(s, _monster(content, "ogre", 0, 0))
        while s.player.unspent:
            s.perform(Train(boon))
        bodies.append(s.player.body)
    assert bodies[0].power > bodies[1].power and bodies[0].max_hp < bodies[1].max_hp


def test_a_berserker_brew_at_the_power_cap_is_refused_and_costs_nothing(content):
    """It used to cost armour and give nothing while its text promised +2 power."""
    s = GameSession.new(content, 3)
    clear_monsters(s)
    p, prog = s.player, content.player.progression
    p.power_bonus = prog.max_power  # at the cap
    recompute_body(s)
    assert p.body.power == prog.max_power
    armor = p.body.armor
    p.inventory = ["berserker brew"]
    assert not s.perform(Use(0)) and "as strong as you can grow" in s.messages.items[-1].text
    assert p.inventory == ["berserker brew"] and p.body.armor == armor and p.armor_bonus == 0
    p.power_bonus = prog.max_power - content.player.power - 1  # one below: the brew gives what is left
    recompute_body(s)
    assert s.perform(Use(0)) and p.body.power == prog.max_power and "the cap" in s.messages.items[-1].text


CONTENT_FILES = sorted((ROOT / "content").glob("*.toml"))


def test_every_reachable_number_is_inside_the_caps_and_the_legal_state(content):
    """Whatever is drunk, worn or earned, hp / power / armour stay within the content's caps, which the loader
    keeps inside the legal combat state (and the shipped model's envelope: test_core_content)."""
    prog = content.player.progression
    assert content.player.hp <= prog.max_hp <= MAX_VALUE and prog.max_power <= power_cap(content.rules)
    for m in content.monsters:
        assert combatant_problem(Combatant(m.hp, m.hp, m.power, m.armor), content.rules) is None, m.name
    assert {p.name for p in CONTENT_FILES} >= {"player.toml", "monsters.toml", "items.toml"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["leather armour", "plate armour", "berserker brew", "kill", "might", "vitality",
                                 "toughness"]), max_size=40))
def test_no_sequence_of_items_levels_and_boons_leaves_the_caps(content, steps):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    prog = content.player.progression
    for step in steps:
        if step == "kill":
            death.slain(s, _monster(content, "death knight", 0, 0))
        elif step in prog.boons:
            s.perform(Train(step))
        else:
            s.player.inventory = [step]
            s.perform(Use(0))
        b = s.player.body
        assert 1 <= b.power <= prog.max_power and 0 <= b.armor <= prog.max_armor and b.hp <= b.max_hp <= prog.max_hp
        assert combatant_problem(b, content.rules) is None


def test_save_round_trip_keeps_progression_and_reads_version_1(content, tmp_path):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    s.player.inventory = ["chain mail", "berserker brew"]
    s.perform(Use(0))
    s.perform(Use(0))
    death.slain(s, _monster(content, "bog troll", 0, 0))
    s.perform(Train("vitality"))
    s.player.inventory += ["ration", "antidote"]
    s.perform(Use(1))  # b: the antidote cures nothing; the letters stay a, b
    s.player.food = 123
    s.settings.auto_pickup = False
    s.floor.monsters.append(_monster(content, "kobold", 1, 1))
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
    s = play(GameSession.new(content, 1001), 40000, seed=1001)
    assert s.won and s.max_depth == content.dungeon.depths and s.turns >= 3000  # a run that lasts


def test_a_thrown_knife_can_kill_and_the_kill_counts(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    rat, _ = spawn_adjacent(s, "rat", hp=2)
    s.update_fov()
    s.player.inventory = ["throwing knife"]
    assert s.perform(Use(0)) and not rat.alive and rat not in s.floor.monsters
    texts = [m.text for m in s.messages.items[-2:]]
    assert texts == [f"You throw the throwing knife at the rat for {s.item_spec('throwing knife').value}.",
                     "The rat dies."]
    assert s.stats.kills == 1 and s.player.xp == rat.body.max_hp


# ---------------------------------------------------------------- issue 16: letters, auto-pickup, run history

def test_pack_letters_stay_put_and_walking_onto_items_picks_them_up(content):
    """Letters changed after every use (a stack took the letter of the one used up before it); there was no
    auto-pickup. Now a stack keeps its letter while it lasts, a new one takes the first free letter, and a
    step onto items picks them up (the setting `auto_pickup`, on by default)."""
    s = GameSession.new(content, 3)
    clear_monsters(s)
    s.floor.items.clear()
    p = s.player
    here = (p.x, p.y)
    step = next(d for d in ((1, 0), (-1, 0), (0, 1), (0, -1)) if s.level.walkable(here[0] + d[0], here[1] + d[1]))
    target = (here[0] + step[0], here[1] + step[1])
    s.floor.items += [FloorItem("healing draught", *target), FloorItem("antidote", *target)]
    assert s.perform(Move(*step)) and p.inventory == ["healing draught", "antidote"] and not s.floor.items
    assert "You pick up the antidote (b)." in [m.text for m in s.messages.items]
    p.inventory += ["throwing knife"]  # c
    assert [(ch, name) for ch, name, _ in pack.stacks(p)] == [("a", "healing draught"), ("b", "antidote"),
                                                              ("c", "throwing knife")]
    p.inventory.remove("antidote")  # used up: b is free, c stays c
    p.inventory.append("ration")  # a new stack takes the first free letter
    assert [(ch, name) for ch, name, _ in pack.stacks(p)] == [("a", "healing draught"), ("b", "ration"),
                                                              ("c", "throwing knife")]
    s.settings.auto_pickup = False
    s.floor.items.append(FloorItem("antidote", *here))
    assert s.perform(Move(-step[0], -step[1])) and s.items_at(*here)
    assert any("g to pick up" in m.text for m in s.messages.items[-2:])


def test_run_history_keeps_turns_and_divergences_per_resolver(content, tmp_path):
    """Run history filed the experts' disagreements under "model" and named only the last resolver."""
    s = GameSession.new(content, 3)
    clear_monsters(s)
    s.player.body = replace(s.player.body, armor=60)
    _m, d = spawn_adjacent(s, "bog troll")
    s.resolvers.use(OffByOneModel(content.rules), kind="experts")
    s.resolvers.set_active("experts")
    for _ in range(2):
        s.perform(Move(*d))
    s.resolvers.set_active("rules")  # the experts answer on in the shadow
    s.perform(Move(*d))
    s.dead, s.cause = True, "killed by a test"
    record_run(s, tmp_path)
    run = load_runs(tmp_path)[0]
    experts = run["resolvers"]["experts"]
    assert "model" not in run["resolvers"] and experts["divergences"] >= 1 and experts["answered"] >= 3
    assert run["resolvers"]["rules"]["turns"] >= 1 and experts["turns"] >= 2
    assert run["resolver"] == "rules" and "experts" in resolver_summary(run)
