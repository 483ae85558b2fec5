"""Envelopes: which combat turns a resolver may be asked about.

Two kinds, one vocabulary of fields (`extent`):

- **The legal state** (`check_case`, `combatant_problem`): every turn the rules can resolve. The parser's
  ranges (docs/rules.md, "Range of the state space") plus what only the ruleset knows: the roll within
  roll_max, a target above 0 hp, and the largest strike within the derivation's two digits. Saves, content,
  the samplers and `rpg-brain resolve` all ask these two functions, so whatever one of them accepts the
  rules resolve.
- **A model's envelope** (`Envelope`): the low and high value of every field in the data it was trained on,
  the actions, the statuses per side and in all, the longest input block in tokens, and which sampler
  (name and version) drew the data under which ruleset. It is measured while the data is written
  (brain/shards.py merges `extent`s), recorded in the model's config.json, never typed by hand. A turn
  outside it is not given to the model: the rules resolve it and the turn is a fallback naming the field
  (`outside`), because outside its data a tiny model answers anyway and is silently wrong (docs/evaluation.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from game.combat.ruleset import Ruleset
from game.combat.state import ACTIONS, CHANNELS, MAX_VALUE, Combatant, CombatState
from game.combat.validate import check_combatant, check_state

Case = tuple[CombatState, str, int]
SIDES = ("A", "B")
OUTSIDE = "outside the model's envelope"  # the prefix of every refusal (play logs, eval and the arena count it)


# ---------------------------------------------------------------- the legal state

def strike_headroom(state: CombatState, rules: Ruleset) -> str | None:
    """The derivation writes two digits: the largest possible strike must fit in 99."""
    fragile = state.target.status("fragile")
    top = state.actor.power + rules.roll_max + rules.crit_bonus + (fragile.magnitude if fragile else 0)
    if top > MAX_VALUE:
        return (f"field A.power: expected power + roll_max + crit_bonus + B's fragile at most {MAX_VALUE} (the "
                f"derivation writes two digits), got {top}")
    return None


def power_cap(rules: Ruleset) -> int:
    """The most power a combatant of the game may have: its strike fits two digits against the strongest
    fragile the game applies (ignite's)."""
    return MAX_VALUE - rules.roll_max - rules.crit_bonus - rules.ignite_fragile


def combatant_problem(c: Combatant, rules: Ruleset) -> str | None:
    """Why this combatant cannot take part in every turn the game may play with it, or None.

    The format's ranges, and the strike headroom against any target the game makes: power at most
    `power_cap`, and no fragile stronger than ignite's on it (a stronger one would cap its attacker's power).
    """
    problems = check_combatant("", c)
    if problems:
        return "; ".join(str(p).lstrip(".") for p in problems)
    if c.power > power_cap(rules):
        return (f"power: expected at most {power_cap(rules)} (power + roll_max + crit_bonus + ignite's fragile "
                f"must fit two digits), got {c.power}")
    fragile = c.status("fragile")
    if fragile is not None and fragile.magnitude > rules.ignite_fragile:
        return f"fragile: expected a magnitude at most {rules.ignite_fragile} (ignite's), got {fragile.magnitude}"
    return None


def check_case(state: CombatState, action: str, roll: int, rules: Ruleset) -> str | None:
    """Why a parsed input cannot be resolved under `rules`, or None.

    Problems the format cannot see are written like its own errors: the field, what was expected, what was
    got (game.combat.judge.resolve_blocks adds the column): the roll beyond roll_max, a turn against a downed
    target, a strike too large for the derivation's two digits.
    """
    problems = check_state(state)
    if problems:
        return "invalid state: " + "; ".join(map(str, problems))
    # the ruleset's own checks, in the order of their fields' columns (docs/format.md, "Errors")
    headroom = strike_headroom(state, rules)
    if headroom:
        return headroom
    if state.target.hp == 0:
        return "field B.hp: expected a target above 0 hp (no turn is played against a downed target), got 0"
    if action not in ACTIONS:
        return f"field action: expected one of {', '.join(ACTIONS)}, got {action!r}"
    if not 1 <= roll <= rules.roll_max:
        return f"field roll: expected a value in 1..{rules.roll_max} (the ruleset's roll_max), got {roll}"
    return None


# ---------------------------------------------------------------- extents

def _side_fields(side: str) -> list[str]:
    names = [f"{side}.{n}" for n in ("max_hp", "hp", "power", "armor", "cd")]
    for ch in CHANNELS:
        if ch != "stun":
            names.append(f"{side}.{ch}.magnitude")
        names.append(f"{side}.{ch}.turns")
    return [*names, f"{side}.statuses"]


# every measured field, in the order a refusal reports them
FIELDS: tuple[str, ...] = ("turn", "roll", *_side_fields("A"), *_side_fields("B"), "statuses")


def extent(case: Case) -> dict[str, int]:
    """The value of every measured field of a turn (absent statuses have no value): what an envelope bounds."""
    state, _, roll = case
    out = {"turn": state.turn, "roll": roll}
    total = 0
    for side, c in zip(SIDES, (state.actor, state.target), strict=True):
        out |= {f"{side}.hp": c.hp, f"{side}.max_hp": c.max_hp, f"{side}.power": c.power,
                f"{side}.armor": c.armor, f"{side}.cd": max(c.cooldowns)}
        active = c.active()
        for ch, s in active:
            if ch != "stun":
                out[f"{side}.{ch}.magnitude"] = s.magnitude
            out[f"{side}.{ch}.turns"] = s.turns
        out[f"{side}.statuses"] = len(active)
        total += len(active)
    out["statuses"] = total
    return out


Bounds = dict[str, list[int]]  # field -> [low, high]


def widen(bounds: Bounds, values: Mapping[str, int]) -> Bounds:
    """`bounds` grown (in place) to hold `values`; returns it."""
    for name, v in values.items():
        b = bounds.get(name)
        if b is None:
            bounds[name] = [v, v]
        elif v < b[0]:
            b[0] = v
        elif v > b[1]:
            b[1] = v
    return bounds


def merge(a: Bounds, b: Mapping[str, list[int]]) -> Bounds:
    """Both bounds in one (a is grown in place and returned)."""
    for name, (lo, hi) in b.items():
        widen(a, {name: lo})
        widen(a, {name: hi})
    return a


# ---------------------------------------------------------------- a model's envelope

class EnvelopeError(ValueError):
    """An envelope record that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Envelope:
    """Where a model was trained: measured bounds of every field, and what drew them."""

    bounds: Mapping[str, tuple[int, int]]
    actions: frozenset[str]
    input_tokens: int  # the longest input block trained on, in tokens (brain's tokenizer)
    sampler: str  # the named sampler that drew the data (game.combat.sampler.SAMPLERS)
    sampler_version: int
    ruleset_id: str
    examples: int = 0  # how many examples the bounds were measured on
    extra: Mapping[str, object] = field(default_factory=dict)  # what else the writer recorded (answer tokens...)

    def outside(self, case: Case, input_tokens: int | None = None) -> str | None:
        """The first field of `case` outside this envelope, as `B.max_hp 63 > 48`, or None inside."""
        values = extent(case)
        action = case[1]
        if action not in self.actions:
            return f"action {action} (trained on {', '.join(a for a in ACTIONS if a in self.actions)})"
        for name in FIELDS:
            v = values.get(name)
            if v is None:
                continue
            b = self.bounds.get(name)
            if b is None:
                return f"{name} {v} (never trained on)"
            if v > b[1]:
                return f"{name} {v} > {b[1]}"
            if v < b[0]:
                return f"{name} {v} < {b[0]}"
        if input_tokens is not None and input_tokens > self.input_tokens:
            return f"input block of {input_tokens} tokens > {self.input_tokens}"
        return None

    def to_json(self) -> dict:
        return {"sampler": self.sampler, "sampler_version": self.sampler_version, "ruleset_id": self.ruleset_id,
                "examples": self.examples, "actions": [a for a in ACTIONS if a in self.actions],
                "input_tokens": self.input_tokens,
                "bounds": {n: list(self.bounds[n]) for n in FIELDS if n in self.bounds}, **self.extra}

    @classmethod
    def from_json(cls, obj: object) -> Envelope:
        """A checked envelope record; EnvelopeError names the first key that is missing or malformed."""
        if not isinstance(obj, dict):
            raise EnvelopeError(f"envelope: expected an object, got {type(obj).__name__}")
        for key, kind in (("sampler", str), ("sampler_version", int), ("ruleset_id", str), ("input_tokens", int),
                          ("actions", list), ("bounds", dict)):
            if key not in obj:
                raise EnvelopeError(f"envelope.{key}: missing")
            if type(obj[key]) is not kind:
                raise EnvelopeError(f"envelope.{key}: expected {kind.__name__}, got {obj[key]!r}")
        unknown = [a for a in obj["actions"] if a not in ACTIONS]
        if unknown or not obj["actions"]:
            raise EnvelopeError(f"envelope.actions: expected actions from {', '.join(ACTIONS)}, got {obj['actions']!r}")
        bounds: dict[str, tuple[int, int]] = {}
        for name, b in obj["bounds"].items():
            if name not in FIELDS:
                raise EnvelopeError(f"envelope.bounds.{name}: not a field (expected one of {', '.join(FIELDS)})")
            if (not isinstance(b, list) or len(b) != 2 or any(type(v) is not int for v in b)
                    or not 0 <= b[0] <= b[1] <= MAX_VALUE):
                raise EnvelopeError(f"envelope.bounds.{name}: expected [low, high] with 0 <= low <= high <= "
                                    f"{MAX_VALUE}, got {b!r}")
            bounds[name] = (b[0], b[1])
        known = {"sampler", "sampler_version", "ruleset_id", "input_tokens", "actions", "bounds", "examples"}
        examples = obj.get("examples", 0)
        if type(examples) is not int or examples < 0:
            raise EnvelopeError(f"envelope.examples: expected a count, got {examples!r}")
        return cls(bounds, frozenset(obj["actions"]), obj["input_tokens"], obj["sampler"], obj["sampler_version"],
                   obj["ruleset_id"], examples, {k: v for k, v in obj.items() if k not in known})

    @classmethod
    def measured(cls, bounds: Mapping[str, list[int]], actions: Iterable[str], input_tokens: int, sampler: str,
                 sampler_version: int, ruleset_id: str, examples: int, **extra: object) -> Envelope:
        return cls({k: (v[0], v[1]) for k, v in bounds.items()}, frozenset(actions), input_tokens, sampler,
                   sampler_version, ruleset_id, examples, extra)

    def narrowed_to(self, actions: Iterable[str]) -> Envelope:
        """The same envelope for only these actions (an expert's route)."""
        return Envelope(self.bounds, self.actions & frozenset(actions), self.input_tokens, self.sampler,
                        self.sampler_version, self.ruleset_id, self.examples, self.extra)
