"""Monsters' turns (game/ai.py): a fleeing monster never deadlocks a fight, a fled one comes back to it, a spent
one out of sight recovers."""

from __future__ import annotations

from fakes import monster

from game.actions import Wait
from game.ai import monster_turn
from game.dungeon import FLOOR, WALL, Level, Room
from game.entities import Floor
from game.pathfind import distance_map
from game.session import GameSession


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
    shaman = monster(content, "goblin shaman", 3, 1, hp=1)
    orc = monster(content, "orc", 4, 1)
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
    kobold = monster(content, "kobold", 6, 4, hp=2)  # under its flee_below: it runs
    s.floor.monsters.append(kobold)
    for _ in range(40):
        if s.stats.combat_turns or s.over:
            break
        s.perform(Wait())
    assert s.stats.combat_turns > 0


def test_spent_monster_out_of_sight_recovers(content):
    s = _corridor_session(content, length=30)
    shaman = monster(content, "goblin shaman", 25, 1, hp=2)
    shaman.fled = content.dungeon.flee_steps
    s.floor.monsters.append(shaman)
    s.visible = set()
    for _ in range(content.dungeon.monster_regen_every * 3):
        s.turns += 1
        monster_turn(s, shaman, distance_map(s.level, (s.player.x, s.player.y)))
    assert shaman.body.hp > 2 and (shaman.x, shaman.y) == (25, 1)
