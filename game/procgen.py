"""Levels with their monsters and items: one seeded generator per depth, so a seed reproduces every floor."""

from __future__ import annotations

import random

from game.combat.state import Combatant
from game.content import Content
from game.content.loader import MonsterSpec
from game.dungeon import generate
from game.entities import Floor, FloorItem, Monster


def monster_pool(content: Content, depth: int) -> list[MonsterSpec]:
    """The monsters that live on `depth` (the boss aside: it is placed once, in the last room)."""
    return [m for m in content.monsters if m.depths[0] <= depth <= m.depths[1] and not m.boss]


def monster_of(spec: MonsterSpec, x: int, y: int) -> Monster:
    return Monster(spec.name, x, y, Combatant(spec.hp, spec.hp, spec.power, spec.armor))


def build_floor(content: Content, seed: int, depth: int) -> Floor:
    d = content.dungeon
    rng = random.Random(f"{seed}/map/{depth}")
    last = depth == d.depths
    level = generate(rng, d.width, d.height, d.rooms_min, d.rooms_max,
                     d.room_size_min, d.room_size_max, last)
    spawn_rooms = level.rooms[1:] or level.rooms
    taken = {level.up} | ({level.down} if level.down else set())

    def free_cell(rooms: list) -> tuple[int, int] | None:
        for _ in range(60):
            room = rng.choice(rooms)
            cell = rng.choice(room.cells())
            if cell not in taken and level.walkable(*cell):
                taken.add(cell)
                return cell
        return None

    monsters: list[Monster] = []
    pool = monster_pool(content, depth)
    bosses = [m for m in content.monsters if m.boss and m.depths[0] <= depth <= m.depths[1]]
    lo, hi = d.monsters_per_depth
    for _ in range(rng.randint(lo, hi) if pool else 0):
        spec = rng.choices(pool, weights=[m.weight for m in pool])[0] if sum(m.weight for m in pool) > 0 \
            else rng.choice(pool)
        cell = free_cell(spawn_rooms)
        if cell:
            monsters.append(monster_of(spec, *cell))
    for spec in bosses:
        cell = free_cell([level.rooms[-1]])
        if cell:
            monsters.append(monster_of(spec, *cell))
    items: list[FloorItem] = []
    item_pool = [i for i in content.items if i.depths[0] <= depth <= i.depths[1] and i.weight > 0]
    lo, hi = d.items_per_depth
    for _ in range(rng.randint(lo, hi) if item_pool else 0):
        spec = rng.choices(item_pool, weights=[i.weight for i in item_pool])[0]
        cell = free_cell(level.rooms)
        if cell:
            items.append(FloorItem(spec.name, *cell))
    return Floor(level, monsters, items)
