"""Random combat situations: the distributions models train on, and the held-out suites.

Two named samplers (`SAMPLERS`), each a training distribution with a version:

- **narrow** (version 2): today's play. Max hp <= 48, power <= 9, armor <= 4, magnitudes <= 4, shield <= 12,
  durations and cooldowns <= 4, each status with probability 0.25. The CPU preset may still train on it.
- **wide** (version 1): the whole format, weighted so that the hard parts are trained and not just
  reachable: a quarter uniform over everything `check_case` accepts; a quarter at mixed scales (each field's
  bound drawn between narrow's and the format's, so small values stay dense); a tenth today's narrow play;
  the rest crowded boards (9 to 14 statuses), lengthy turns (crowded boards whose turn writes many events:
  the longest blocks) and arithmetic at its boundaries (shields and hp at and around the hit, ticks at the
  actor's hp, heals at the cap).

Every draw of every sampler is a turn the rules resolve (`game.combat.envelope.check_case`; a property test
checks it). The suites `iid` and `edge` are narrow's plain and edged draws, `wide` is the format uniformly and
`crowded` the boards of 9 or more statuses; brain/suites adds `long` (it needs the tokenizer).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace

from game.combat.envelope import Case
from game.combat.ruleset import Ruleset
from game.combat.state import (
    ACTIONS,
    CHANNELS,
    MAX_DIGIT,
    MAX_TURN,
    MAX_VALUE,
    SLOTS,
    Combatant,
    CombatState,
    Status,
)


@dataclass(frozen=True)
class Ranges:
    """Upper bounds of a distribution's fields (lower bounds are 0 or 1), and how often statuses appear."""

    max_hp: int = 48
    power: int = 9
    armor: int = 4
    # every turn a fight can reach (the counter saturates at MAX_TURN): stalemates against healers and
    # regenerators run past 60 in play, and a model trained on turns <= 49 miswrote their tens digit
    turn: int = MAX_TURN - 1
    duration: int = 4
    cooldown: int = 4
    shield: int = 12
    magnitude: int = 4  # poison, burn, regen, thorns, fragile
    status_p: float = 0.25
    cooldown_p: float = 0.35

    def doubled(self) -> Ranges:
        """Twice every bound, clipped to what the format can write."""
        return replace(
            self, max_hp=min(2 * self.max_hp, MAX_VALUE), power=min(2 * self.power, MAX_VALUE),
            armor=min(2 * self.armor, MAX_VALUE), turn=min(2 * self.turn, MAX_TURN - 1),
            duration=min(2 * self.duration, MAX_DIGIT), cooldown=min(2 * self.cooldown, MAX_DIGIT),
            shield=min(2 * self.shield, MAX_VALUE), magnitude=min(2 * self.magnitude, MAX_VALUE),
        )


NARROW = Ranges()
# the format's bounds (power is cut further per turn by the strike headroom: _fit_strike)
FORMAT = Ranges(max_hp=MAX_VALUE, power=MAX_VALUE, armor=MAX_VALUE, turn=MAX_TURN, duration=MAX_DIGIT,
                cooldown=MAX_DIGIT, shield=MAX_VALUE, magnitude=MAX_VALUE, status_p=0.5, cooldown_p=0.9)


# ---------------------------------------------------------------- narrow (version 2)

def _combatant(rng: random.Random, r: Ranges, can_be_down: bool) -> Combatant:
    max_hp = rng.randint(1, r.max_hp)
    # a downed actor is a turn (actor_down); a downed target is not (the fight is over: rules.resolve)
    hp = 0 if can_be_down and rng.random() < 0.03 else rng.randint(1, max_hp)
    cds = tuple(rng.randint(1, r.cooldown) if rng.random() < r.cooldown_p else 0 for _ in SLOTS)
    statuses = []
    for ch in CHANNELS:
        if rng.random() >= r.status_p:
            statuses.append(None)
            continue
        top = {"shield": r.shield, "stun": 0}.get(ch, r.magnitude)
        magnitude = 0 if ch == "stun" else rng.randint(1, top)
        statuses.append(Status(magnitude, rng.randint(1, r.duration)))
    return Combatant(hp, max_hp, rng.randint(1, r.power), rng.randint(0, r.armor), cds,
                     tuple(statuses))


def sample_iid(rng: random.Random, rules: Ruleset, ranges: Ranges = NARROW) -> Case:
    # the stun channel on the actor wastes the action, so keep it rarer than the rest
    # most fights end long before fatigue starts, so most turns are early ones
    turn = rng.randint(0, max(0, rules.fatigue_turn - 1)) if rng.random() < 0.6 else rng.randint(0, ranges.turn)
    state = CombatState(turn, _combatant(rng, ranges, can_be_down=True), _combatant(rng, ranges, can_be_down=False))
    if state.actor.has("stun") and rng.random() < 0.5:
        state = CombatState(state.turn, state.actor.with_status("stun", None), state.target)
    return state, rng.choice(ACTIONS), rng.randint(1, rules.roll_max)


def _edge(rng: random.Random, rules: Ruleset, case: Case, r: Ranges = NARROW) -> Case:
    """One deliberate edge applied to a case (with NARROW, exactly the draws of narrow version 2)."""
    state, action, roll = case
    a, b = state.actor, state.target
    kind = rng.randrange(12)
    short = max(1, r.duration - 1)  # a status that ends soon: 1..3 turns in narrow
    if kind == 0:  # hp 0, 1 or max on either side (never 0 on the target: no turn against the downed)
        who = rng.choice(["actor", "target"])
        hp = rng.choice(["zero", "one", "max"] if who == "actor" else ["one", "max"])
        c = a if who == "actor" else b
        c = replace(c, hp={"zero": 0, "one": min(1, c.max_hp), "max": c.max_hp}[hp])
        a, b = (c, b) if who == "actor" else (a, c)
    elif kind == 1:  # statuses on their last turn
        for ch, s in a.active():
            a = a.with_status(ch, replace(s, turns=1))
        for ch, s in b.active():
            b = b.with_status(ch, replace(s, turns=1))
    elif kind == 2:  # stunned actor
        a = a.with_status("stun", Status(0, rng.randint(1, 2)))
    elif kind == 3:  # the action's own cooldown at 0, 1 or its maximum
        action = rng.choice(SLOTS)
        a = a.with_cooldown(action, rng.choice([0, 1, rules.cooldown_of(action)]))
    elif kind == 4:  # every cooldown about to become ready
        a = replace(a, cooldowns=tuple(rng.choice([0, 1]) for _ in SLOTS))
    elif kind == 5:  # poisoned healer with regen
        a = a.with_status("poison", Status(rng.randint(1, r.magnitude), rng.randint(1, short)))
        a = a.with_status("regen", Status(rng.randint(1, r.magnitude), rng.randint(1, short)))
        action = rng.choice(["heal", "wait", "cleanse"])
    elif kind == 6:  # shield and fragile together on the target
        b = b.with_status("shield", Status(rng.randint(1, r.shield), rng.randint(1, short)))
        b = b.with_status("fragile", Status(rng.randint(1, r.magnitude), rng.randint(1, short)))
        action = rng.choice(["attack", "poison_strike"])
    elif kind == 7:  # thorns against a nearly dead attacker
        b = b.with_status("thorns", Status(rng.randint(1, r.magnitude), rng.randint(1, short)))
        a = replace(a, hp=rng.randint(min(1, a.hp), min(a.hp, 3)))
        action = rng.choice(["attack", "poison_strike"])
    elif kind == 8:  # fatigue boundary and saturating turn counter
        state = replace(state, turn=rng.choice([max(0, rules.fatigue_turn - 1), rules.fatigue_turn,
                                                MAX_TURN - 1, MAX_TURN]))
    elif kind == 9:  # damage exactly equal to what stands in the way
        roll = _plain_hit(rng, rules)
        dmg = max(a.power + roll - b.armor, 1)
        b = b.with_status("shield", Status(min(dmg, 99), rng.randint(1, short)))
        action = "attack"
    elif kind == 10:  # lethal: the target has exactly the damage left
        roll = _plain_hit(rng, rules)
        dmg = max(a.power + roll - b.armor, 1)
        b = replace(b, hp=min(dmg, b.max_hp), statuses=(None,) * len(CHANNELS))
        action = "attack"
    else:  # boundary rolls
        roll = rng.choice([rules.miss_roll, rules.crit_roll])
        action = rng.choice(["attack", "poison_strike"])
    if a.has("stun") and kind != 2 and rng.random() < 0.5:
        a = a.with_status("stun", None)
    return CombatState(state.turn, a, b), action, roll


def _plain_hit(rng: random.Random, rules: Ruleset) -> int:
    """A roll that hits without a critical (the lowest crit when a ruleset leaves no such roll)."""
    return rng.randint(rules.miss_roll + 1, max(rules.miss_roll + 1, rules.crit_roll - 1))


def sample_edge(rng: random.Random, rules: Ruleset, ranges: Ranges = NARROW) -> Case:
    case = sample_iid(rng, rules, ranges)
    for _ in range(rng.randint(1, 2)):
        case = _edge(rng, rules, case)
    return case


# ---------------------------------------------------------------- wide (version 1)

def _strike_room(rules: Ruleset) -> int:
    """What power + B's fragile may add up to: the largest strike fits the derivation's two digits."""
    return MAX_VALUE - rules.roll_max - rules.crit_bonus


def _fit_strike(rng: random.Random, state: CombatState, rules: Ruleset) -> CombatState:
    """The state with the actor's largest strike inside two digits (check_case): power or B's fragile redrawn."""
    a, b = state.actor, state.target
    room = _strike_room(rules)
    fragile = b.status("fragile")
    mag = fragile.magnitude if fragile else 0
    if a.power + mag <= room:
        return state
    if fragile is not None and (mag > room or rng.random() < 0.5):
        weaker = Status(rng.randint(1, room - a.power), fragile.turns) if a.power < room else None
        b = b.with_status("fragile", weaker)
    else:
        a = replace(a, power=rng.randint(0, room - mag))
    return CombatState(state.turn, a, b)


def _wide_combatant(rng: random.Random, r: Ranges, hp_low: int, power_top: int) -> Combatant:
    """Every field uniform under its bound in `r`: power (at most power_top) and armor from 0, hp from hp_low,
    each cooldown set with probability cooldown_p, each status with probability status_p."""
    max_hp = rng.randint(1, r.max_hp)
    hp = rng.randint(min(hp_low, max_hp), max_hp)
    cds = tuple(rng.randint(1, r.cooldown) if rng.random() < r.cooldown_p else 0 for _ in SLOTS)
    statuses = tuple(_status(rng, ch, r) if rng.random() < r.status_p else None for ch in CHANNELS)
    return Combatant(hp, max_hp, rng.randint(0, min(r.power, power_top)), rng.randint(0, r.armor), cds, statuses)


def _status(rng: random.Random, channel: str, r: Ranges) -> Status:
    if channel == "stun":
        return Status(0, rng.randint(1, r.duration))
    return Status(rng.randint(1, r.shield if channel == "shield" else r.magnitude), rng.randint(1, r.duration))


def _case(rng: random.Random, rules: Ruleset, r: Ranges, turn: int | None = None) -> Case:
    room = _strike_room(rules)
    a = _wide_combatant(rng, r, hp_low=0, power_top=room)
    b = _wide_combatant(rng, r, hp_low=1, power_top=room)
    state = CombatState(rng.randint(0, r.turn) if turn is None else turn, a, b)
    return _fit_strike(rng, state, rules), rng.choice(ACTIONS), rng.randint(1, rules.roll_max)


def sample_wide(rng: random.Random, rules: Ruleset) -> Case:
    """The whole format, uniformly: every field uniform over what check_case accepts, each status present
    with probability 1/2, each cooldown digit uniform in 0..9."""
    return _case(rng, rules, FORMAT)


def _scale(rng: random.Random) -> Ranges:
    """Mixed scales: each bound drawn between narrow's and the format's, so a field's small values stay
    dense (as in play) while every value up to the format's stays reachable."""
    up = rng.randint
    return Ranges(max_hp=up(NARROW.max_hp, MAX_VALUE), power=up(NARROW.power, MAX_VALUE),
                  armor=up(NARROW.armor, MAX_VALUE), turn=MAX_TURN, duration=up(NARROW.duration, MAX_DIGIT),
                  cooldown=up(NARROW.cooldown, MAX_DIGIT), shield=up(NARROW.shield, MAX_VALUE),
                  magnitude=up(NARROW.magnitude, MAX_VALUE), status_p=rng.uniform(0.1, 0.6),
                  cooldown_p=rng.uniform(0.2, 0.8))


def _turn(rng: random.Random, rules: Ruleset) -> int:
    """Early turns dense (most fights end before fatigue), every turn up to the saturated 99 reachable."""
    return rng.randint(0, max(0, rules.fatigue_turn - 1)) if rng.random() < 0.5 else rng.randint(0, MAX_TURN)


def sample_crowded(rng: random.Random, rules: Ruleset, r: Ranges = FORMAT) -> Case:
    """A crowded board: 9 to 14 of the 14 status channels set (the longest blocks)."""
    state, action, roll = _case(rng, rules, replace(r, status_p=0.0))
    places = [(side, ch) for side in (0, 1) for ch in CHANNELS]
    sides = [state.actor, state.target]
    for side, ch in rng.sample(places, rng.randint(9, len(places))):
        sides[side] = sides[side].with_status(ch, _status(rng, ch, r))
    return _fit_strike(rng, CombatState(state.turn, *sides), rules), action, roll


def sample_lengthy(rng: random.Random, rules: Ruleset, r: Ranges = FORMAT) -> Case:
    """A crowded board whose turn writes many events: the actor's statuses and cooldowns ending together, a
    critical strike through fragile, armor and shield into thorns, past fatigue. brain/suites keeps the
    blocks of 220 tokens or more of these as the `long` suite."""
    state, action, roll = sample_crowded(rng, rules, r)
    a, b = state.actor, state.target
    if rng.random() < 0.7:  # the actor's statuses on their last turn: one status_expires each
        for ch, st in a.active():
            a = a.with_status(ch, replace(st, turns=1))
    if rng.random() < 0.7:  # cooldowns about to be ready: one cooldown_ready each
        a = replace(a, cooldowns=tuple(rng.choice([0, 1, 1, 1]) for _ in SLOTS))
    if rng.random() < 0.7:  # the whole damage pipeline
        action = rng.choice(["attack", "attack", "poison_strike"])
        roll = rng.randint(rules.crit_roll, rules.roll_max) if rng.random() < 0.6 else roll
        for ch in ("shield", "thorns", "fragile"):
            if not b.has(ch):
                b = b.with_status(ch, _status(rng, ch, r))
        b = replace(b, armor=max(1, b.armor))
    turn = rng.randint(rules.fatigue_turn, MAX_TURN) if rng.random() < 0.7 else state.turn
    if a.has("stun") and rng.random() < 0.8:  # a stunned actor writes no action events
        a = a.with_status("stun", None)
    return _fit_strike(rng, CombatState(turn, a, b), rules), action, roll


def _hit(a: Combatant, b: Combatant, roll: int, action: str, rules: Ruleset) -> int:
    """The damage a strike would deal before the shield (the pipeline up to armor)."""
    dmg = (a.power + roll if action == "attack" else roll) + (rules.crit_bonus if roll >= rules.crit_roll else 0)
    fragile = b.status("fragile")
    return max(0, dmg + (fragile.magnitude if fragile else 0) - b.armor)


def _boundary(rng: random.Random, rules: Ruleset, r: Ranges) -> Case:
    """Arithmetic at its boundaries: a shield or hp at and around the hit, a tick at the actor's hp, a heal or
    regen at the cap, thorns at the attacker's hp."""
    state, action, roll = _case(rng, rules, r, turn=_turn(rng, rules))
    a, b = state.actor, state.target
    kind = rng.randrange(5)
    near = rng.randint(-2, 2)
    if kind <= 1:  # a landed strike meets a shield (0) or the last hp (1) of about its size
        action = rng.choice(["attack", "attack", "poison_strike"])
        roll = rng.randint(rules.miss_roll + 1, rules.roll_max)
        b = replace(b, armor=min(b.armor, rng.randint(0, 9)))
        dmg = _hit(a, b, roll, action, rules)
        if kind == 0:
            b = b.with_status("shield", Status(min(max(dmg + near, 1), MAX_VALUE), rng.randint(1, r.duration)))
        else:
            b = b.with_status("shield", None)
            max_hp = max(b.max_hp, min(dmg + 2, MAX_VALUE))
            b = replace(b, max_hp=max_hp, hp=min(max(dmg + near, 1), max_hp))
    elif kind == 2:  # a tick (poison, burn) at about the actor's hp
        ch = rng.choice(["poison", "burn"])
        mag = min(max(a.hp + near, 1), MAX_VALUE)
        a = a.with_status(ch, Status(mag, rng.randint(1, r.duration)))
    elif kind == 3:  # healing at the cap: heal, wait or regen within a few hp of max hp
        a = replace(a, hp=max(0, a.max_hp - rng.randint(0, 6)))
        if rng.random() < 0.5:
            a = a.with_status("regen", Status(rng.randint(1, r.magnitude), rng.randint(1, r.duration)))
        action = rng.choice(["heal", "wait", "wait", "guard"])
    else:  # thorns at about the attacker's hp
        action = rng.choice(["attack", "poison_strike"])
        roll = rng.randint(rules.miss_roll + 1, rules.roll_max)
        b = b.with_status("thorns", Status(min(max(a.hp + near, 1), MAX_VALUE), rng.randint(1, r.duration)))
    return _fit_strike(rng, CombatState(state.turn, a, b), rules), action, roll


def sample_wide_train(rng: random.Random, rules: Ruleset) -> Case:
    """The wide training distribution (see the module doc); edges come on top (sample_wide_edge)."""
    u = rng.random()
    if u < 0.25:
        return sample_wide(rng, rules)
    if u < 0.50:
        return _case(rng, rules, _scale(rng), turn=_turn(rng, rules))
    if u < 0.60:
        return sample_iid(rng, rules)
    if u < 0.70:
        return sample_crowded(rng, rules, _scale(rng))
    if u < 0.85:
        return sample_lengthy(rng, rules, _scale(rng))
    return _boundary(rng, rules, _scale(rng))


def sample_wide_edge(rng: random.Random, rules: Ruleset) -> Case:
    """A wide draw with one or two of the deliberate edges, at that draw's scale."""
    case = sample_wide_train(rng, rules)
    r = _scale(rng)
    for _ in range(rng.randint(1, 2)):
        case = _edge(rng, rules, case, r)
    return _fit_strike(rng, case[0], rules), case[1], case[2]


# ---------------------------------------------------------------- the named samplers and the suites

Draw = Callable[[random.Random, Ruleset], Case]


@dataclass(frozen=True)
class Sampler:
    """A training distribution: its plain and edged draws, and its version.

    Bump `version` whenever the draws change (code or ranges): token shards and models record the name and
    version, training refuses shards of another version, and a model drawn by another version is stale.
    """

    name: str
    version: int
    plain: Draw
    edge: Draw
    about: str


SAMPLERS: dict[str, Sampler] = {s.name: s for s in (
    # 2: every turn 0..98 (November 2026; 1 stopped at 49)
    Sampler("narrow", 2, sample_iid, sample_edge, "today's play: max hp <= 48, power <= 9, magnitudes <= 4"),
    Sampler("wide", 1, sample_wide_train, sample_wide_edge, "the whole format, weighted toward its hard parts"),
)}

SUITES: dict[str, Draw] = {"iid": sample_iid, "edge": sample_edge, "wide": sample_wide, "crowded": sample_crowded}


def sample(suite: str, n: int, seed: int, rules: Ruleset) -> list[Case]:
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; expected one of {', '.join(SUITES)}")
    rng = random.Random(f"{suite}:{seed}")
    return [SUITES[suite](rng, rules) for _ in range(n)]
