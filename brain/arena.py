"""The headless arena: whole games played by the scripted player through the same session code as the TUI.

Measures the model where players meet it: divergences per 1000 combat turns, fallbacks and their
reasons, model latency, deaths, depth, wins. Play logs are written exactly as the game writes them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from game.autoplay import PLAYERS
from game.combat.envelope import Envelope, power_cap
from game.combat.judge import Resolver
from game.combat.sampler import FORMAT
from game.combat.state import CHANNELS, Combatant, Status
from game.content import Content
from game.measure import percentile
from game.playlog import PlayLogWriter
from game.session import GameSession


@dataclass
class ArenaTally:
    games: int = 0
    turns: int = 0
    combat_turns: int = 0
    divergences: int = 0
    declined: int = 0  # turns outside the model's envelope: not asked of it, whichever resolver was active
    answered: int = 0  # turns the model answered (active or in the shadow)
    fallbacks: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    deaths: int = 0
    wins: int = 0
    unfinished: int = 0
    crashes: list[str] = field(default_factory=list)
    depths: list[int] = field(default_factory=list)
    won_turns: list[int] = field(default_factory=list)  # how long each won run took, in player turns

    def add(self, s: GameSession) -> None:
        self.games += 1
        self.turns += s.turns
        self.combat_turns += s.stats.combat_turns
        self.divergences += s.stats.divergences
        self.declined += s.stats.declined
        self.answered += sum(t.answered for t in s.stats.by_resolver.values())
        self.fallbacks.update(s.stats.fallbacks)
        self.latencies.extend(s.stats.latencies)
        self.deaths += s.dead
        self.wins += s.won
        self.unfinished += not s.over
        self.depths.append(s.max_depth)
        if s.won:
            self.won_turns.append(s.turns)


def _pct(xs: list[float], q: float) -> float | None:
    p = percentile(xs, q)
    return None if p is None else round(p, 3)


def _bound(envs: list[Envelope], field: str, top: int, low: int = 0) -> tuple[int, int]:
    """The range of a field inside every envelope, as either side (a monster acts and is acted on)."""
    lo, hi = low, top
    for env in envs:
        for side in ("A", "B"):
            b = env.bounds.get(f"{side}.{field}")
            lo, hi = (max(lo, b[0]), min(hi, b[1])) if b else (lo, hi)
    return lo, max(lo, hi)


def perturbed(body: Combatant, envs: list[Envelope], rng, power_top: int) -> Combatant:
    """A monster body redrawn inside the envelopes (hp, power, armor, statuses), so that play reaches boards the
    content never makes; the strike headroom (power_cap) and ignite's fragile keep it legal for the rules."""
    max_hp = rng.randint(*_bound(envs, "max_hp", FORMAT.max_hp, 1))
    power = rng.randint(*_bound(envs, "power", power_top))
    armor = rng.randint(*_bound(envs, "armor", FORMAT.armor))
    statuses = []
    for ch in CHANNELS:
        turns = _bound(envs, f"{ch}.turns", FORMAT.duration, 1)
        if rng.random() >= 0.3 or ch == "fragile" or turns[1] < turns[0]:
            statuses.append(None)
            continue
        mag = (0, 0) if ch == "stun" else _bound(envs, f"{ch}.magnitude", FORMAT.magnitude, 1)
        statuses.append(Status(rng.randint(*mag), rng.randint(*turns)))
    return Combatant(max_hp, max_hp, power, armor, body.cooldowns, tuple(statuses))


def run_arena(content: Content, turns: int, seed: int, active: str, save_dir: Path,
              model: Resolver | None, model_status: str = "", progress: bool = True,
              max_game_turns: int = 30000, player: str = "scripted", perturb: bool = False) -> dict:
    """Play games until `turns` player turns were spent in total; return the JSON summary.

    `player`: game.autoplay.PLAYERS (scripted, random). `perturb`: every monster's body redrawn inside the
    loaded model's envelope (the whole format without a model) when it is first seen on a floor."""
    import random

    tally = ArenaTally()
    envs = [env for _, env, _ in getattr(model, "envelopes", lambda: [])()]
    rng = random.Random(f"arena-perturb:{seed}")
    logs = save_dir / "playlogs"
    game = 0
    started = time.perf_counter()
    while tally.turns < turns:
        game_seed = seed * 1000 + game
        run_id = f"arena-{active}-{seed}-{game}"
        writer = PlayLogWriter(logs / f"{run_id}.jsonl")
        s = GameSession.new(content, game_seed, run_id=run_id, playlog=writer)
        s.resolvers.use(model, model_status, kind="experts" if active == "experts" else "model")
        s.resolvers.set_active(active)
        # the session's stats keep only recent latencies; the arena wants them all
        s.stats.latencies = deque()
        bot = PLAYERS[player](game_seed)
        budget = min(max_game_turns, turns - tally.turns)
        seen: set[int] = set()
        try:
            actions = 0  # an action may take many turns (explore, rest) or none (impossible): count both
            while not s.over and s.turns < budget and actions < 4 * budget:
                if perturb:
                    for m in s.floor.monsters:
                        if id(m) not in seen and not m.in_fight:
                            seen.add(id(m))
                            m.body = perturbed(m.body, envs, rng, power_cap(content.rules))
                s.perform(bot.next_action(s))
                actions += 1
        except Exception as exc:  # a crash loses the game; the arena says so and plays on
            tally.crashes.append(f"game {game} (seed {game_seed}): {type(exc).__name__}: {exc} "
                                 f"at {traceback.extract_tb(exc.__traceback__)[-1].name}")
        finally:
            writer.close()
        tally.add(s)
        game += 1
        if progress:
            _progress(tally, turns, started)
    if progress:
        print(file=sys.stderr)
    finished = tally.deaths + tally.wins
    return {
        "resolver": active,
        "model": model_status or None,
        "seed": seed,
        "player": player,
        "perturbed_monsters": perturb,
        "games": tally.games,
        "turns_played": tally.turns,
        "combat_turns": tally.combat_turns,
        "divergences": tally.divergences,
        "divergences_per_1000": round(1000 * tally.divergences / max(tally.combat_turns, 1), 3),
        "fallbacks": sum(tally.fallbacks.values()),
        "fallback_reasons": dict(tally.fallbacks),
        "model_answered": tally.answered,
        "divergences_per_1000_answered": round(1000 * tally.divergences / tally.answered, 3) if tally.answered
        else None,
        "outside_envelope": tally.declined,  # not asked of the model (a fallback when it is the active resolver)
        "model_latency_ms": {"p50": _pct(tally.latencies, 0.5), "p95": _pct(tally.latencies, 0.95),
                             "n": len(tally.latencies)},
        "deaths": tally.deaths,
        "wins": tally.wins,
        "unfinished": tally.unfinished,
        "games_lost_to_crash": len(tally.crashes),
        "crashes": tally.crashes,
        "depth_reached": {"max": max(tally.depths, default=0),
                          "mean": round(sum(tally.depths) / max(len(tally.depths), 1), 2),
                          "median": percentile(tally.depths, 0.5)},
        "won_run_turns": {"median": percentile(tally.won_turns, 0.5), "min": min(tally.won_turns, default=None),
                          "max": max(tally.won_turns, default=None), "each": sorted(tally.won_turns)},
        "win_rate": {active: round(tally.wins / finished, 3) if finished else None},
        "playlogs": str(logs),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _progress(t: ArenaTally, total: int, started: float) -> None:
    done = min(t.turns / max(total, 1), 1.0)
    rate = t.turns / max(time.perf_counter() - started, 1e-9)
    eta = (total - t.turns) / rate if rate else 0
    bar = "#" * int(30 * done)
    print(f"\rarena [{bar:<30}] {t.turns}/{total} turns, {t.games} games, {t.combat_turns} combat turns, "
          f"{t.divergences} divergences, eta {eta:4.0f}s", end="", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ the `rpg-brain arena` stage

def add_arguments(a: argparse.ArgumentParser) -> None:
    a.add_argument("--turns", type=int, default=5000, help="player turns in total, over as many games as it takes")
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--resolver", choices=("rules", "model", "experts"), default="model")
    a.add_argument("--experts", type=Path, default=None,
                   help="experts directory for --resolver experts (default: brain/models/experts)")
    a.add_argument("--model", type=Path, default=None, help="model directory (default: the shipped model)")
    a.add_argument("--allow-stale", action="store_true", help="load a stale model anyway (its answers are marked)")
    a.add_argument("--no-model", action="store_true", help="rules only, no shadow model")
    a.add_argument("--player", choices=tuple(PLAYERS), default="scripted",
                   help="scripted (a careful player), reckless (never rests, never uses an item) or random "
                        "(uniform actions in a fight, waits included)")
    a.add_argument("--game-turns", type=int, default=30000,
                   help="a game still running after this many player turns is cut short (counted unfinished)")
    a.add_argument("--perturb", action="store_true",
                   help="redraw every monster's hp, power, armor and statuses inside the model's envelope")
    a.add_argument("--save-dir", type=Path, default=Path("saves/arena"), help="play logs go to DIR/playlogs")
    a.add_argument("--json", action="store_true")
    a.add_argument("--quiet", action="store_true", help="no progress bar")
    a.add_argument("--draft", choices=("rules", "copy", "none"), default="rules",
                   help="what each model call verifies (brain/draft.py); the answers are the same, rules is fastest")


def run(args: argparse.Namespace) -> int:
    from game.content import load_content

    content = load_content(args.content)
    model, status = None, "off (--no-model)"
    if not args.no_model:
        from brain.experts import load_learned

        try:
            path = args.experts if args.resolver == "experts" else args.model
            model = load_learned("experts" if args.resolver == "experts" else "model", path, content.rules,
                                 draft=args.draft, allow_stale=args.allow_stale)
            where = path or f"shipped {'experts' if args.resolver == 'experts' else 'default'}"
            status = f"loaded ({where}, {model.decoder} decoder, draft {args.draft})"
        except ValueError as exc:
            if args.resolver != "rules":
                raise ValueError(f"cannot load the {args.resolver}: {exc}") from exc
            status = f"unavailable ({exc})"
    result = run_arena(content, args.turns, args.seed, args.resolver, args.save_dir, model, status,
                       progress=not args.quiet, player=args.player, perturb=args.perturb,
                       max_game_turns=args.game_turns)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for key in ("games", "turns_played", "combat_turns", "divergences_per_1000", "model_answered",
                    "divergences_per_1000_answered", "fallbacks", "outside_envelope",
                    "fallback_reasons",
                    "model_latency_ms", "deaths", "wins", "depth_reached", "won_run_turns", "win_rate",
                    "games_lost_to_crash"):
            print(f"{key}: {result[key]}")
    return 0
