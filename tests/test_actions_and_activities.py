"""Actions and activities (game/actions.py, game/activities.py): an impossible action spends no turn and says
why; run, explore and rest stop where a player would."""

from __future__ import annotations

from dataclasses import replace

from fakes import clear_monsters

from game.actions import Drop, PickUp, Special, Use
from game.activities import Explore, Rest, Run, StairsOrTravel
from game.session import GameSession


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
