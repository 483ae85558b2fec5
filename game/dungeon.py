"""Map generation: rooms joined by corridors, stairs down, nothing about UI.

A level is a grid of tiles plus what the player has seen. Generation takes its
own random.Random so a seed reproduces every level independently of combat.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

WALL, FLOOR, STAIRS_DOWN, STAIRS_UP = "#", ".", ">", "<"
WALKABLE = frozenset({FLOOR, STAIRS_DOWN, STAIRS_UP})


@dataclass(frozen=True)
class Room:
    x: int
    y: int
    w: int
    h: int

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.w // 2, self.y + self.h // 2

    def intersects(self, other: Room) -> bool:
        return (self.x <= other.x + other.w and other.x <= self.x + self.w
                and self.y <= other.y + other.h and other.y <= self.y + self.h)

    def cells(self) -> list[tuple[int, int]]:
        return [(x, y) for y in range(self.y, self.y + self.h) for x in range(self.x, self.x + self.w)]


@dataclass
class Level:
    width: int
    height: int
    tiles: list[list[str]]
    rooms: list[Room]
    up: tuple[int, int]
    down: tuple[int, int] | None  # None on the last depth
    seen: list[list[bool]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.seen:
            self.seen = [[False] * self.width for _ in range(self.height)]
        # tiles never change after generation: path finding reads this grid
        self.passable = [[t in WALKABLE for t in row] for row in self.tiles]

    def in_bounds(self, x: int, y: int) -> bool:
        return 0 <= x < self.width and 0 <= y < self.height

    def tile(self, x: int, y: int) -> str:
        return self.tiles[y][x] if 0 <= x < self.width and 0 <= y < self.height else WALL

    def walkable(self, x: int, y: int) -> bool:
        return 0 <= x < self.width and 0 <= y < self.height and self.passable[y][x]

    def opaque(self, x: int, y: int) -> bool:
        return self.tile(x, y) == WALL

    def floor_cells(self) -> list[tuple[int, int]]:
        return [(x, y) for y in range(self.height) for x in range(self.width) if self.tiles[y][x] == FLOOR]


def _carve_h(tiles: list[list[str]], x1: int, x2: int, y: int) -> None:
    for x in range(min(x1, x2), max(x1, x2) + 1):
        tiles[y][x] = FLOOR


def _carve_v(tiles: list[list[str]], y1: int, y2: int, x: int) -> None:
    for y in range(min(y1, y2), max(y1, y2) + 1):
        tiles[y][x] = FLOOR


def generate(rng: random.Random, width: int, height: int, rooms_min: int, rooms_max: int,
             size_min: int, size_max: int, last: bool) -> Level:
    """Place non-overlapping rooms, join each to the previous with an L corridor."""
    tiles = [[WALL] * width for _ in range(height)]
    rooms: list[Room] = []
    want = rng.randint(rooms_min, rooms_max)
    for _ in range(want * 30):
        if len(rooms) >= want:
            break
        w = rng.randint(size_min, min(size_max, width - 2))
        h = rng.randint(max(3, size_min - 2), min(max(3, size_max - 3), height - 2))
        room = Room(rng.randint(1, width - w - 1), rng.randint(1, height - h - 1), w, h)
        if any(room.intersects(r) for r in rooms):
            continue
        for x, y in room.cells():
            tiles[y][x] = FLOOR
        if rooms:
            (x1, y1), (x2, y2) = rooms[-1].center, room.center
            if rng.random() < 0.5:
                _carve_h(tiles, x1, x2, y1)
                _carve_v(tiles, y1, y2, x2)
            else:
                _carve_v(tiles, y1, y2, x1)
                _carve_h(tiles, x1, x2, y2)
        rooms.append(room)
    if len(rooms) < 2:  # a tiny map: guarantee two rooms so there is a path to the stairs
        rooms = [Room(1, 1, 3, 3), Room(width - 5, height - 5, 3, 3)]
        for r in rooms:
            for x, y in r.cells():
                tiles[y][x] = FLOOR
        (x1, y1), (x2, y2) = rooms[0].center, rooms[1].center
        _carve_h(tiles, x1, x2, y1)
        _carve_v(tiles, y1, y2, x2)
    up = rooms[0].center
    tiles[up[1]][up[0]] = STAIRS_UP
    down = None
    if not last:
        down = rooms[-1].center
        tiles[down[1]][down[0]] = STAIRS_DOWN
    return Level(width, height, tiles, rooms, up, down)
