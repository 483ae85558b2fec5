"""Field of view by recursive shadowcasting (eight octants), pure Python.

`compute(level, x, y, radius)` returns the set of visible cells; walls are
visible but block what lies behind them.
"""

from __future__ import annotations

from game.dungeon import Level

# Octant transforms: (xx, xy, yx, yy).
_OCTANTS = (
    (1, 0, 0, 1), (0, 1, 1, 0), (0, -1, 1, 0), (-1, 0, 0, 1),
    (-1, 0, 0, -1), (0, -1, -1, 0), (0, 1, -1, 0), (1, 0, 0, -1),
)


def compute(level: Level, ox: int, oy: int, radius: int) -> set[tuple[int, int]]:
    visible = {(ox, oy)}
    for xx, xy, yx, yy in _OCTANTS:
        _cast(level, ox, oy, radius, 1, 1.0, 0.0, xx, xy, yx, yy, visible)
    return visible


def _cast(level: Level, ox: int, oy: int, radius: int, row: int, start: float, end: float,
          xx: int, xy: int, yx: int, yy: int, visible: set[tuple[int, int]]) -> None:
    if start < end:
        return
    r2 = radius * radius
    for j in range(row, radius + 1):
        dx, dy = -j - 1, -j
        blocked = False
        new_start = start
        while dx <= 0:
            dx += 1
            x, y = ox + dx * xx + dy * xy, oy + dx * yx + dy * yy
            l_slope, r_slope = (dx - 0.5) / (dy + 0.5), (dx + 0.5) / (dy - 0.5)
            if start < r_slope:
                continue
            if end > l_slope:
                break
            if dx * dx + dy * dy <= r2 and level.in_bounds(x, y):
                visible.add((x, y))
            if blocked:
                if level.opaque(x, y):
                    new_start = r_slope
                else:
                    blocked = False
                    start = new_start
            elif level.opaque(x, y) and j < radius:
                blocked = True
                _cast(level, ox, oy, radius, j + 1, start, l_slope, xx, xy, yx, yy, visible)
                new_start = r_slope
        if blocked:
            break
