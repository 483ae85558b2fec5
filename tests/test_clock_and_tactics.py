"""Runs that last and challenge: the hunger clock, wanderers, statuses off the fight turns, monsters' tactics,
the depths' curve, and the scripted players the balance is measured with (the arena: a short smoke test)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from fakes import clear_monsters, spawn_adjacent

from game import clock
from game.actions import Special, Use, Wait
from game.activities import Rest, explore
from game.autoplay import PLAYERS, bump_damage, play
from game.combat.state import Status
from game.session import GameSession
from game.tactics import choose


def test_every_turn_eats_and_a_starving_player_neither_rests_nor_keeps_hp(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    h = content.player.hunger
    food = s.player.food
    assert food == h.start
    s.perform(Wait())
    assert s.player.food == food - 1
    s.player.food = h.hungry + 1
    s.perform(Wait())
    assert "hungry" in s.messages.items[-1].text.lower() and clock.hunger_word(s) == "Hungry"
    s.player.food = 1
    s.player.body = replace(s.player.body, hp=20)
    s.perform(Wait())
    assert clock.starving(s) and "starving" in " ".join(m.text for m in s.messages.items[-3:]).lower()
    hp = s.player.body.hp
    for _ in range(h.starve_every * 3):
        s.perform(Wait())
    assert s.player.body.hp == hp - 3  # no rest while starving, and the hp ebbs
    assert not s.perform(Rest()) and "starving" in s.messages.items[-1].text
    s.player.inventory = ["ration"]
    assert s.perform(Use(0)) and s.player.food == s.item_spec("ration").value - 1 and not clock.starving(s)


def test_a_starving_player_explores_on_through_the_hunger_pangs(content):
    """Starving costs one hp every starve_every turns; explore stops for a new wound, not for every pang (it
    once stopped every few steps, "You are hurt", with nothing to rest off)."""
    s = GameSession.new(content, 3)
    clear_monsters(s)
    s.player.food, s.player.body = 0, replace(s.player.body, hp=s.player.body.max_hp)
    turns, hp = s.turns, s.player.body.hp
    explore(s)
    assert s.turns - turns > 2 * content.player.hunger.starve_every and s.player.body.hp < hp
    assert "hurt" not in s.stop_reason


def test_starving_to_death_ends_the_run(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    s.player.food, s.player.body = 0, replace(s.player.body, hp=1)
    for _ in range(content.player.hunger.starve_every):
        s.perform(Wait())
    assert s.dead and s.cause == "starved to death"


def test_poison_outside_a_fight_can_kill(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    s.player.body = replace(s.player.body, hp=2).with_status("poison", Status(2, 3))
    s.perform(Wait())
    assert s.dead and s.cause == "succumbed to poison"


def test_a_wanderer_comes_from_out_of_sight(content):
    c = replace(content, dungeon=replace(content.dungeon, wander_every=5, wander_chance=1.0))
    s = GameSession.new(c, 3)
    clear_monsters(s)
    for _ in range(5):
        s.perform(Wait())
    assert len(s.floor.monsters) == 1
    m = s.floor.monsters[0]
    assert m.awake and (max(abs(m.x - s.player.x), abs(m.y - s.player.y)) > 1 or m.in_fight)  # from afar, hunting
    quiet = replace(content, dungeon=replace(content.dungeon, wander_chance=0.0))
    s = GameSession.new(quiet, 3)
    clear_monsters(s)
    for _ in range(content.dungeon.wander_every):
        s.perform(Wait())
    assert not s.floor.monsters


def test_a_healer_guards_then_heals_when_hurt(content):
    s = GameSession.new(content, 3)
    clear_monsters(s)
    priest, _ = spawn_adjacent(s, "troll priest")
    spec = s.spec(priest)
    assert spec.tactic == "healer"
    priest.body = replace(priest.body, hp=priest.body.max_hp // 3)
    assert choose(s, priest, spec) == "guard"
    priest.body = priest.body.with_status("shield", Status(5, 2))
    assert choose(s, priest, spec) == "heal"


def test_a_caster_crowds_the_board(content):
    """The hex witch stacks statuses (ignite, poison, thorns, a shield, regeneration): with a player who answers
    in kind, the board carries six statuses at once (a bump-and-brace fight, two or three)."""
    s = GameSession.new(content, 3)
    clear_monsters(s)
    s.player.known += ["ignite", "poison_strike"]
    s.player.body = replace(s.player.body, armor=60, max_hp=99, hp=60, power=1)  # a long fight, nobody dies
    witch, _ = spawn_adjacent(s, "hex witch")
    assert s.spec(witch).tactic == "caster"
    most = 0
    for _ in range(30):
        ready = [a for a in ("ignite", "poison_strike", "guard", "brace", "heal") if s.player.body.cooldown(a) == 0]
        s.perform(Special(ready[0]) if ready else Wait())
        most = max([most, *(len(r.state.actor.active()) + len(r.state.target.active()) for r in s.recent)])
    assert most >= 6


def test_ten_depths_that_grow_harder_with_big_new_monsters(content):
    assert content.dungeon.depths >= 10
    names = {m.name for m in content.monsters}
    assert len(names - {"rat", "kobold", "cave spider", "goblin shaman", "orc", "fire imp", "bog troll",
                        "bone knight", "wyrm of the deep"}) >= 6
    assert sum(60 <= m.hp <= 99 for m in content.monsters) >= 4
    assert {m.tactic for m in content.monsters} >= {"healer", "caster", "brute", "boss"}

    def threat(depth: int) -> float:  # the strongest strike met on a depth, through 5 armour
        return max(bump_damage(m.power, 5) * m.hp for m in content.monsters if m.depths[0] <= depth <= m.depths[1])

    assert [threat(d) for d in range(1, 11)] == sorted(threat(d) for d in range(1, 11))


def test_the_help_says_when_a_special_beats_a_bump(content):
    from game.tui.screens import help_text

    text = help_text(content)
    assert text.count("beats a bump") == 6 and "armour" in text and "healer" in text


@pytest.mark.parametrize("player", sorted(PLAYERS))
def test_every_scripted_player_plays(content, player):
    s = play(GameSession.new(content, 5), 300, seed=5, player=player)
    assert s.turns > 20


def test_the_scripted_player_can_win(content):
    s = play(GameSession.new(content, 1001), 40000, seed=1001)
    assert s.won and s.max_depth == content.dungeon.depths and s.turns >= 3000  # a run that lasts


def test_the_arena_reports_won_runs_turns_and_the_reckless_player(tmp_path, capsys):
    from brain.cli import main

    assert main(["arena", "--turns", "300", "--seed", "4", "--resolver", "rules", "--no-model", "--player",
                 "reckless", "--json", "--quiet", "--save-dir", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["player"] == "reckless" and out["games"] >= 1 and "won_run_turns" in out
    assert set(out["won_run_turns"]) == {"median", "min", "max", "each"}
    assert out["won_run_turns"]["each"] == sorted(out["won_run_turns"]["each"])
    assert len(out["won_run_turns"]["each"]) == out["wins"]
