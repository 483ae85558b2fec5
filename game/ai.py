"""Monster behaviour: wake, hunt down the distance map, fight, flee, tire, recover.

A hurt monster (below its flee_below fraction of hp) runs away, but only for
`flee_steps` steps in a row: then it is spent. A spent monster out of the
player's sight recovers hp until it is no longer hurt and hunts again; a spent
monster in sight turns and fights, as does one with nowhere to run. A monster
whose way is blocked by a hurt or sleeping one that is not fighting swaps
places with it, so two monsters in a corridor never wait on each other forever.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from game import tactics
from game.content.loader import MonsterSpec
from game.entities import Monster, out_of_combat_tick
from game.narrate import a_an
from game.pathfind import STEPS, distance_map

if TYPE_CHECKING:
    from game.session import GameSession


def monsters_act(s: GameSession) -> None:
    """Every monster on the floor takes its turn (only when one is awake or in view: sleeping floors cost nothing)."""
    if s.over or not any(m.awake or (m.x, m.y) in s.visible for m in s.floor.monsters):
        return
    dist = distance_map(s.level, (s.player.x, s.player.y))
    for m in list(s.floor.monsters):
        if s.over:
            break
        if m.alive:
            monster_turn(s, m, dist)


def _hurt(spec: MonsterSpec, m: Monster) -> bool:
    return spec.flee_below > 0 and m.body.hp < spec.flee_below * m.body.max_hp


def monster_turn(s: GameSession, m: Monster, dist: dict[tuple[int, int], int]) -> None:
    spec = s.spec(m)
    p = s.player
    d = s.content.dungeon
    in_view = (m.x, m.y) in s.visible
    if in_view and not m.awake:
        m.awake = True
        s.messages.add(f"{a_an(m.kind).capitalize()} notices you.", "warn")
    if not m.awake:
        return
    adjacent = max(abs(m.x - p.x), abs(m.y - p.y)) == 1
    hurt = _hurt(spec, m)
    if not hurt:
        m.fled = 0  # recovered: it may flee again next time
    spent = hurt and m.fled >= d.flee_steps
    if spent and not in_view and not adjacent:  # out of sight, it licks its wounds
        if s.turns % d.monster_regen_every == 0:
            m.body = replace(m.body, hp=min(m.body.max_hp, m.body.hp + 1))
        _rest(m)
        return
    fleeing = hurt and not spent
    if adjacent and not fleeing:
        s.fight(m, choose_action(s, m, spec), monster_acts=True)
        return
    best, best_d, swap = None, dist.get((m.x, m.y), 999), None
    for dx, dy in STEPS:
        c = (m.x + dx, m.y + dy)
        if c not in dist or c == (p.x, p.y):
            continue
        other = s.monster_at(*c)
        if other is not None and (max(abs(other.x - p.x), abs(other.y - p.y)) <= 1
                                  or (other.awake and not _hurt(s.spec(other), other))):
            # never pull one out of a fight; a healthy hunter walks on by itself (swapping two would
            # only trade places back and forth): only a hurt or sleeping one is stepped past
            continue
        step_d = dist[c]
        if (fleeing and step_d > best_d) or (not fleeing and step_d < best_d):
            best, best_d, swap = c, step_d, other
    if best is None:
        if adjacent:  # cornered: fight back
            s.fight(m, choose_action(s, m, spec), monster_acts=True)
            return
        if fleeing:
            m.fled += 1  # nowhere further to run: it tires all the same, then turns on the player
    else:
        if fleeing:
            m.fled += 1
            if adjacent:
                s.messages.add(f"The {m.kind} flees!", "info")
        if swap is not None:
            swap.x, swap.y = m.x, m.y
        m.x, m.y = best
    _rest(m)


def _rest(m: Monster) -> None:
    m.body = out_of_combat_tick(m.body)
    m.in_fight, m.fight_turn = False, 0


def choose_action(s: GameSession, m: Monster, spec: MonsterSpec) -> str:
    """The monster's action this turn, by its tactic (game/tactics.py)."""
    return tactics.choose(s, m, spec)
