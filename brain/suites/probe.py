"""probe: every field pushed, one at a time, just past the loaded model's envelope; every answer must be a
counted fallback, never a silent one (a model asked outside its data answers anyway, and is wrong)."""

from __future__ import annotations

import random
from dataclasses import replace

from brain.suites.registry import Run, Suite, register
from game.combat.envelope import FIELDS, Envelope, check_case
from game.combat.ruleset import Ruleset
from game.combat.sampler import SAMPLERS, Case
from game.combat.state import CHANNELS, MAX_DIGIT, MAX_TURN, MAX_VALUE, SLOTS, Combatant, CombatState, Status

PER_FIELD = 400  # cases per field (`rpg-brain eval --n` scales it: n / 5 per field, at least 20)


def _limits(field: str, rules: Ruleset) -> tuple[int, int]:
    """The legal range of a field: what check_case accepts."""
    if field == "turn":
        return 0, MAX_TURN
    if field == "roll":
        return 1, rules.roll_max
    name = field.split(".", 1)[1] if "." in field else field
    if name == "statuses":
        return 0, 2 * len(CHANNELS) if field == "statuses" else len(CHANNELS)
    if name == "hp":
        return (1 if field.startswith("B.") else 0), MAX_VALUE
    if name in ("max_hp",) or name.endswith(".magnitude"):
        return 1, MAX_VALUE
    if name == "cd":
        return 0, MAX_DIGIT
    if name.endswith(".turns"):
        return 1, MAX_DIGIT
    return 0, MAX_VALUE  # power, armor


def _set(c: Combatant, name: str, v: int, rng: random.Random) -> Combatant:
    """A combatant with one field set to v (raising max hp with hp, adding the status a channel field needs)."""
    if name == "hp":
        return replace(c, hp=v, max_hp=max(c.max_hp, v))
    if name == "max_hp":
        return replace(c, max_hp=v, hp=min(c.hp, v))
    if name in ("power", "armor"):
        return replace(c, **{name: v})
    if name == "cd":
        return c.with_cooldown(rng.choice(SLOTS), v)
    if name == "statuses":
        present = [ch for ch, _ in c.active()]
        for ch in [ch for ch in CHANNELS if ch not in present][:max(0, v - len(present))]:
            c = c.with_status(ch, Status(0 if ch == "stun" else 1, 1))
        for ch in present[v:]:
            c = c.with_status(ch, None)
        return c
    channel, part = name.split(".")
    s = c.status(channel) or Status(0 if channel == "stun" else 1, 1)
    return c.with_status(channel, replace(s, **{part: v}))


def push(case: Case, field: str, v: int, rng: random.Random) -> Case:
    state, action, roll = case
    if field == "turn":
        return replace(state, turn=v), action, roll
    if field == "roll":
        return state, action, v
    if field == "statuses":  # spread v statuses over both sides
        a_n = rng.randint(max(0, v - len(CHANNELS)), min(v, len(CHANNELS)))
        a, b = _set(state.actor, "statuses", a_n, rng), _set(state.target, "statuses", v - a_n, rng)
        return CombatState(state.turn, a, b), action, roll
    side, name = field.split(".", 1)
    who = state.actor if side == "A" else state.target
    who = _set(who, name, v, rng)
    state = CombatState(state.turn, who, state.target) if side == "A" else CombatState(state.turn, state.actor, who)
    return state, action, roll


def probe_cases(env: Envelope, rules: Ruleset, per_field: int, seed: int) -> dict[str, list[Case]]:
    """For each field with room past the envelope's bound (inside what the rules accept), `per_field` legal
    cases of the envelope's own sampler with that one field just past the bound (above, or below the low bound)."""
    sampler = SAMPLERS.get(env.sampler, SAMPLERS["wide"])
    rng = random.Random(f"probe:{seed}")
    out: dict[str, list[Case]] = {}
    for field in FIELDS:
        if field not in env.bounds:
            continue
        lo, hi = env.bounds[field]
        legal_lo, legal_hi = _limits(field, rules)
        targets = [v for v in (hi + 1, hi + 2, lo - 1) if legal_lo <= v <= legal_hi and not lo <= v <= hi]
        if not targets:
            continue
        cases: list[Case] = []
        for _ in range(per_field * 50):
            if len(cases) == per_field:
                break
            state, _, roll = sampler.plain(rng, rules)
            base = (state, rng.choice(sorted(env.actions)), roll)
            case = push(base, field, rng.choice(targets), rng)
            if check_case(*case, rules) is None and env.outside(case) is not None:
                cases.append(case)
        out[field] = cases
    return out


def run(r: Run) -> dict:
    per_field = max(20, r.n // 5)
    result: dict = {"per_field": per_field, "models": {}}
    silent_total = tried = 0
    for name, env, resolver in getattr(r.resolver, "envelopes", lambda: [])():
        fields = {}
        for field, cases in probe_cases(env, r.rules, per_field, r.seed).items():
            answers = resolver.resolve_batch(cases)
            silent = sum(not a.declined for a in answers)
            fields[field] = {"n": len(cases), "fallbacks": len(cases) - silent, "silent": silent}
            silent_total += silent
            tried += len(cases)
        at_bound = [f for f in FIELDS if f in env.bounds and f not in fields]
        n, silent = sum(f["n"] for f in fields.values()), sum(f["silent"] for f in fields.values())
        result["models"][name] = {"n": n, "fallbacks": n - silent, "silent": silent, "fields": fields,
                                  "at_the_format_bound": at_bound}
    result |= {"n": tried, "silent": silent_total}
    return result


register(Suite("probe", "each field just past the loaded model's envelope: fallbacks, never silent answers",
               run=run))
