"""Random combat situations: the iid distribution the model trains on, and the edges.

Both the data generator and `rpg-brain sample` use this; the game's content is
checked to stay inside `Ranges` so that play is in distribution.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

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

Case = tuple[CombatState, str, int]

# bump whenever the draws change (code, not Ranges, which are recorded beside it): token shards record both
# and training refuses shards of another sampler. 2: every turn 0..98 (November 2026; 1 stopped at 49)
SAMPLER_VERSION = 2


@dataclass(frozen=True)
class Ranges:
    """Upper bounds of the training distribution (lower bounds are 0 or 1)."""

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
        """Twice every bound, clipped to what the format can write (the ood suite)."""
        return replace(
            self, max_hp=min(2 * self.max_hp, MAX_VALUE), power=min(2 * self.power, MAX_VALUE),
            armor=min(2 * self.armor, MAX_VALUE), turn=min(2 * self.turn, MAX_TURN - 1),
            duration=min(2 * self.duration, MAX_DIGIT), cooldown=min(2 * self.cooldown, MAX_DIGIT),
            shield=min(2 * self.shield, MAX_VALUE), magnitude=min(2 * self.magnitude, MAX_VALUE),
        )


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


def sample_iid(rng: random.Random, rules: Ruleset, ranges: Ranges = Ranges()) -> Case:
    # the stun channel on the actor wastes the action, so keep it rarer than the rest
    # most fights end long before fatigue starts, so most turns are early ones
    turn = rng.randint(0, rules.fatigue_turn - 1) if rng.random() < 0.6 else rng.randint(0, ranges.turn)
    state = CombatState(turn, _combatant(rng, ranges, can_be_down=True), _combatant(rng, ranges, can_be_down=False))
    if state.actor.has("stun") and rng.random() < 0.5:
        state = CombatState(state.turn, state.actor.with_status("stun", None), state.target)
    return state, rng.choice(ACTIONS), rng.randint(1, rules.roll_max)


def _edge(rng: random.Random, rules: Ruleset, case: Case) -> Case:
    """One deliberate edge applied to a case."""
    state, action, roll = case
    a, b = state.actor, state.target
    kind = rng.randrange(12)
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
        a = a.with_status("poison", Status(rng.randint(1, 4), rng.randint(1, 3)))
        a = a.with_status("regen", Status(rng.randint(1, 4), rng.randint(1, 3)))
        action = rng.choice(["heal", "wait", "cleanse"])
    elif kind == 6:  # shield and fragile together on the target
        b = b.with_status("shield", Status(rng.randint(1, 12), rng.randint(1, 3)))
        b = b.with_status("fragile", Status(rng.randint(1, 4), rng.randint(1, 3)))
        action = rng.choice(["attack", "poison_strike"])
    elif kind == 7:  # thorns against a nearly dead attacker
        b = b.with_status("thorns", Status(rng.randint(1, 4), rng.randint(1, 3)))
        a = replace(a, hp=rng.randint(min(1, a.hp), min(a.hp, 3)))
        action = rng.choice(["attack", "poison_strike"])
    elif kind == 8:  # fatigue boundary and saturating turn counter
        state = replace(state, turn=rng.choice([rules.fatigue_turn - 1, rules.fatigue_turn,
                                                MAX_TURN - 1, MAX_TURN]))
    elif kind == 9:  # damage exactly equal to what stands in the way
        roll = rng.randint(rules.miss_roll + 1, rules.crit_roll - 1)
        dmg = max(a.power + roll - b.armor, 1)
        b = b.with_status("shield", Status(min(dmg, 99), rng.randint(1, 3)))
        action = "attack"
    elif kind == 10:  # lethal: the target has exactly the damage left
        roll = rng.randint(rules.miss_roll + 1, rules.crit_roll - 1)
        dmg = max(a.power + roll - b.armor, 1)
        b = replace(b, hp=min(dmg, b.max_hp), statuses=(None,) * len(CHANNELS))
        action = "attack"
    else:  # boundary rolls
        roll = rng.choice([rules.miss_roll, rules.crit_roll])
        action = rng.choice(["attack", "poison_strike"])
    if a.has("stun") and kind != 2 and rng.random() < 0.5:
        a = a.with_status("stun", None)
    return CombatState(state.turn, a, b), action, roll


def sample_edge(rng: random.Random, rules: Ruleset, ranges: Ranges = Ranges()) -> Case:
    case = sample_iid(rng, rules, ranges)
    for _ in range(rng.randint(1, 2)):
        case = _edge(rng, rules, case)
    return case


SUITES = {"iid": sample_iid, "edge": sample_edge}


def sample(suite: str, n: int, seed: int, rules: Ruleset, ranges: Ranges = Ranges()) -> list[Case]:
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; expected one of {', '.join(SUITES)}")
    rng = random.Random(f"{suite}:{seed}")
    return [SUITES[suite](rng, rules, ranges) for _ in range(n)]
