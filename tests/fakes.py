"""Fake model resolvers and helpers shared by the game tests (and the Pilot tests': KEY_OF, settle)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from game.combat.format import encode_answer
from game.combat.judge import Resolution, RulesResolver
from game.combat.state import Combatant
from game.entities import Monster
from game.session import DIRECTIONS, GameSession


class PerfectModel:
    """Answers exactly like the rules: never diverges."""

    name = "fake-perfect"

    def __init__(self, rules) -> None:
        self.inner = RulesResolver(rules)

    def resolve_batch(self, cases: Sequence) -> list[Resolution]:
        return [Resolution(self.name, r.raw, r.next_state, r.events, latency_ms=0.1)
                for r in self.inner.resolve_batch(cases)]


class GarbageModel:
    name = "fake-garbage"

    def resolve_batch(self, cases: Sequence) -> list[Resolution]:
        return [Resolution(self.name, "hit99 critical_hit | t99 A hp hp hp") for _ in cases]


class SlowModel:
    name = "fake-slow"

    def __init__(self, delay_s: float = 0.5) -> None:
        self.delay_s = delay_s

    def resolve_batch(self, cases: Sequence) -> list[Resolution]:
        time.sleep(self.delay_s)
        return [Resolution(self.name, "") for _ in cases]


class CrashingModel:
    name = "fake-crash"

    def resolve_batch(self, cases: Sequence) -> list[Resolution]:
        raise RuntimeError("CUDA on fire")


class OffByOneModel:
    """A plausible but wrong model: one less hp for the target whenever it can (valid, divergent)."""

    name = "fake-off-by-one"

    def __init__(self, rules) -> None:
        self.inner = RulesResolver(rules)

    def resolve_batch(self, cases: Sequence) -> list[Resolution]:
        from dataclasses import replace

        out = []
        for r in self.inner.resolve_batch(cases):
            nxt = r.next_state
            if nxt.target.hp > 0:
                nxt = replace(nxt, target=replace(nxt.target, hp=nxt.target.hp - 1))
            out.append(Resolution(self.name, encode_answer(r.events, nxt), nxt, r.events, latency_ms=0.2))
        return out


def spawn_adjacent(s: GameSession, kind: str, hp: int | None = None) -> tuple[Monster, tuple[int, int]]:
    """Put a monster of `kind` next to the player; returns it and the direction from the player to it."""
    p = s.player
    for dx, dy in DIRECTIONS.values():
        x, y = p.x + dx, p.y + dy
        if s.level.walkable(x, y) and s.monster_at(x, y) is None:
            m = monster(s.content, kind, x, y, hp)
            s.floor.monsters.append(m)
            return m, (dx, dy)
    raise AssertionError("no free cell next to the player")


def clear_monsters(s: GameSession) -> None:
    s.floor.monsters.clear()


def monster(content, kind: str, x: int, y: int, hp: int | None = None) -> Monster:
    """An awake monster of `kind` at (x, y), at full health unless `hp` is given; not placed on any floor."""
    spec = next(m for m in content.monsters if m.name == kind)
    return Monster(kind, x, y, Combatant(hp or spec.hp, spec.hp, spec.power, spec.armor), awake=True)


# the game's move key for each direction (dx, dy): vi keys
KEY_OF = {(-1, 0): "h", (1, 0): "l", (0, -1): "k", (0, 1): "j", (-1, -1): "y", (1, -1): "u", (-1, 1): "b",
          (1, 1): "n"}


async def settle(pilot) -> None:
    """Let a Pilot-driven app finish its workers (a turn, a model load) and refresh the screen."""
    from textual.worker import WorkerCancelled

    try:
        await pilot.app.workers.wait_for_complete()
    except WorkerCancelled:  # the palette cancels its search worker when it closes: nothing to wait for
        pass
    await pilot.pause()


def measured_envelope(rules, draws: int = 2000) -> dict:
    """The envelope record of an untrained test model: what the wide sampler's stream measures over `draws`
    draws (brain.train.training_envelope, as a run without shards records it)."""
    from dataclasses import replace

    from brain.train import PRESETS, training_envelope

    tc = replace(PRESETS["tiny"], sampler="wide", steps=1, batch_size=draws)
    return {"envelope": training_envelope(tc, rules).to_json()}
