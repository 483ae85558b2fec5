"""Items, the pack and progression (game/items.py, game/pack.py, game/progression.py): what each item does,
pack letters and auto-pickup, levels and boons, and every reachable hp, power and armour inside the content's caps
and the legal combat state."""

from __future__ import annotations

from pathlib import Path

from fakes import clear_monsters, monster, spawn_adjacent
from hypothesis import given, settings
from hypothesis import strategies as st

from game import death, pack
from game.actions import Move, Train, Use
from game.combat.envelope import combatant_problem, power_cap
from game.combat.state import MAX_VALUE, Combatant
from game.entities import FloorItem
from game.progression import recompute_body
from game.session import GameSession

ROOT = Path(__file__).resolve().parents[1]


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


def test_progression_levels_up_on_kills_and_asks_for_a_boon(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    b, prog = s.player.body, content.player.progression
    death.slain(s, monster(content, "orc", 0, 0))  # 30 xp: past level 2's 20
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
        death.slain(s, monster(content, "ogre", 0, 0))
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
            death.slain(s, monster(content, "death knight", 0, 0))
        elif step in prog.boons:
            s.perform(Train(step))
        else:
            s.player.inventory = [step]
            s.perform(Use(0))
        b = s.player.body
        assert 1 <= b.power <= prog.max_power and 0 <= b.armor <= prog.max_armor and b.hp <= b.max_hp <= prog.max_hp
        assert combatant_problem(b, content.rules) is None
