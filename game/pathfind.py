"""The one path-finder: a breadth-first search over walkable cells, eight directions.

Monsters walk down the distance map from the player; the player's travel,
auto-explore and the scripted player take the first step of a shortest walk.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from game.dungeon import Level

Cell = tuple[int, int]
STEPS: tuple[Cell, ...] = ((0, -1), (0, 1), (-1, 0), (1, 0), (-1, -1), (1, -1), (-1, 1), (1, 1))


def search(level: Level, start: Cell, blocked: Iterable[Cell] = (), seen_only: bool = False,
           goal: Callable[[Cell], bool] | None = None) -> tuple[dict[Cell, int], dict[Cell, Cell], Cell | None]:
    """Distances and parents from `start`; stops at the first cell (other than start) where `goal` holds."""
    walkable, seen = level.walkable, level.seen
    blocked = set(blocked)
    dist: dict[Cell, int] = {start: 0}
    parent: dict[Cell, Cell] = {}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        if goal is not None and cell != start and goal(cell):
            return dist, parent, cell
        x, y = cell
        for dx, dy in STEPS:
            nxt = (x + dx, y + dy)
            if nxt in dist or nxt in blocked or not walkable(*nxt) or (seen_only and not seen[nxt[1]][nxt[0]]):
                continue
            dist[nxt] = dist[cell] + 1
            parent[nxt] = cell
            queue.append(nxt)
    return dist, parent, None


def distance_map(level: Level, start: Cell) -> dict[Cell, int]:
    """Steps from `start` to every reachable walkable cell."""
    return search(level, start)[0]


def first_step(level: Level, start: Cell, goal: Callable[[Cell], bool], blocked: Iterable[Cell] = (),
               seen_only: bool = True) -> Cell | None:
    """(dx, dy) of the first step of a shortest walk to a cell where `goal` holds, or None."""
    _, parent, found = search(level, start, blocked, seen_only, goal)
    if found is None:
        return None
    cell = found
    while parent[cell] != start:
        cell = parent[cell]
    return cell[0] - start[0], cell[1] - start[1]
