"""The clocks that make time cost: hunger and wandering monsters.

Every player turn eats one turn of food (content/player.toml, `[player.hunger]`). Below `hungry` the log
warns; at 0 the player is starving: no rest heals, and every `starve_every` turns one hp is lost, until food
(an item whose effect is `food`) is eaten. Resting to full and walking away from a fight are no longer free.

Every `wander_every` turns (content/dungeon.toml) a monster of the depth may come from out of sight, awake
and hunting, with chance `wander_chance`: a floor cleared is not a safe place to rest for ever. Its draw comes
from a stream seeded by (seed, depth, turn), so a seed and the same keys replay the same wanderers with no
random state to save.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import TYPE_CHECKING

from game import death
from game.pathfind import distance_map
from game.procgen import monster_of, monster_pool

if TYPE_CHECKING:
    from game.session import GameSession

WANDER_MIN_DISTANCE = 12  # steps from the player: a wanderer arrives, it does not appear next to them


def hunger_word(s: GameSession) -> str:
    """'' when fed, else Hungry or Starving (the status line shows it)."""
    food, h = s.player.food, s.content.player.hunger
    if food <= 0:
        return "Starving"
    return "Hungry" if food <= h.hungry else ""


def starving(s: GameSession) -> bool:
    return s.player.food <= 0


def tick(s: GameSession) -> None:
    """One player turn has passed: hunger, then perhaps a wanderer."""
    _hunger(s)
    if not s.over:
        _wander(s)


def _hunger(s: GameSession) -> None:
    p, h = s.player, s.content.player.hunger
    if p.food > 0:
        p.food -= 1
        if p.food == h.hungry:
            s.messages.add("You are getting hungry: eat something before long.", "warn")
        elif p.food == 0:
            s.messages.add("You are starving! Resting heals nothing now, and your strength ebbs.", "warn")
        return
    if s.turns % h.starve_every == 0:
        p.body = replace(p.body, hp=max(0, p.body.hp - 1))
        if p.body.hp == 0:
            death.die(s, "starved to death")


def _wander(s: GameSession) -> None:
    d = s.content.dungeon
    if d.wander_every <= 0 or s.turns % d.wander_every:
        return
    rng = random.Random(f"{s.seed}/wander/{s.depth}/{s.turns}")
    if rng.random() >= d.wander_chance:
        return
    pool = monster_pool(s.content, s.depth)
    if not pool:
        return
    dist = distance_map(s.level, (s.player.x, s.player.y))
    taken = {(m.x, m.y) for m in s.floor.monsters}
    cells = sorted(c for c, n in dist.items() if n >= WANDER_MIN_DISTANCE and c not in s.visible and c not in taken)
    if not cells:
        return
    m = monster_of(rng.choice(pool), *rng.choice(cells))
    m.awake = True
    s.floor.monsters.append(m)
