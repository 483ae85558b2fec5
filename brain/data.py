"""Training data: (input block, answer) pairs labelled by the rules engine.

The answer is format.encode_answer(events, next_state): the derivation
scratchpad, ` | `, the canonical next-state block. Cases come from one of the game's
named samplers (game.combat.sampler.SAMPLERS: wide or narrow), its plain and edged draws mixed and weighted
toward hard turns (strikes, several hp changes). The split is a hash of the input block, so a block lands in the same
split whoever draws it: test blocks are never trained on, whatever the seed.

Training reads either an infinite stream (`stream`) or the token shards that
`rpg-brain gen` writes from the same draws (brain/shards.py); `rpg-brain ingest`
writes play logs as the same shards.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass

from brain.tokenizer import Tokenizer
from game.combat.format import answer_grammar, encode_answer, encode_input
from game.combat.rules import Event, resolve
from game.combat.ruleset import Ruleset
from game.combat.sampler import SAMPLERS, Case, sample_lengthy

SPLITS = ("train", "val", "test")
# strikes and multi-step arithmetic are where a small model goes wrong (issue 5)
_STRIKES = frozenset({"attack", "poison_strike"})


def split_of(block: str) -> str:
    """train / val / test by sha1 of the input block: 90 / 5 / 5."""
    h = int.from_bytes(hashlib.sha1(block.encode()).digest()[:8], "little") % 100
    return "train" if h < 90 else "val" if h < 95 else "test"


@dataclass(frozen=True)
class Mix:
    """How the stream draws cases (recorded in the manifest)."""

    edge: float = 0.2  # share of the sampler's edged draws
    easy_keep: float = 0.5  # acceptance of an easy case (no strike, < 2 arithmetic events)
    sampler: str = "wide"  # game.combat.sampler.SAMPLERS: the envelope the data covers
    boundary: float = 0.0  # share of draws redrawn until the turn is on a boundary (on_boundary)
    long: float = 0.0  # share of draws that are lengthy whole-format turns of LONG tokens or more
    narrow: float = 0.0  # share of draws from the narrow sampler (its plain and edged draws, by `edge`)

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {self.sampler!r}; expected one of {', '.join(SAMPLERS)}")
        for name in ("edge", "easy_keep", "boundary", "long", "narrow"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"Mix.{name} is a share: expected 0..1, got {getattr(self, name)}")
        if self.boundary + self.long + self.narrow > 1:
            raise ValueError(f"Mix.boundary + Mix.long + Mix.narrow share the draws: expected a sum <= 1, got "
                             f"{self.boundary + self.long + self.narrow}")
        if self.long and self.sampler != "wide":
            raise ValueError(f"Mix.long draws the whole format's long blocks, outside the {self.sampler} sampler")
        if self.narrow and self.sampler != "wide":
            raise ValueError(f"Mix.narrow mixes the narrow sampler's draws into the wide one's, not the {self.sampler}")

    def recorded(self) -> dict:
        """The mix as manifests and configs write it. The redraw shares came later; one at 0 is left out, so a gen
        of an older command writes the manifest (and the data hash) it wrote then."""
        return {k: v for k, v in asdict(self).items() if v or k not in ("boundary", "long", "narrow")}


@dataclass(frozen=True)
class Example:
    block: str
    answer: str
    action: str
    rules: tuple[str, ...]  # the rule events that fired, in order
    case: Case | None = None  # what was drawn (the envelope measures it)
    boundary: bool = False  # on_boundary


_HEALS = frozenset({"heal_restores", "wait_recovers", "regen_tick"})


def on_boundary(case: Case, events: Sequence[Event]) -> bool:
    """A turn decided by a comparison at its edge, where the wide model is wrong (docs/brain.md): a heal, wait or
    regen tick that stops at max hp (or a wait at full hp, which heals nothing), or a shield within one point of
    the hit that meets it. The sampler reaches these, but too rarely for a small model to learn the exact edge."""
    state, action, _ = case
    actor, target = state.actor, state.target
    if action == "wait" and 0 < actor.hp == actor.max_hp:
        return True
    shield = target.status("shield")
    for e in events:
        if e.rule in _HEALS and e.result == actor.max_hp:
            return True
        if e.rule == "shield_absorbs" and shield is not None and abs(e.amount + e.result - shield.magnitude) <= 1:
            return True
    return False


def label(case: Case, rules: Ruleset) -> Example:
    state, action, roll = case
    out = resolve(state, action, roll, rules)
    return Example(encode_input(state, action, roll), encode_answer(out.events, out.next_state), action,
                   tuple(e.rule for e in out.events), case, on_boundary(case, out.events))


LONG = 220  # tokens in a training sequence from which narrow models broke (41% wrong, 0.6% below 200)
_TOK = Tokenizer.from_format()


def sequence_tokens(ex: Example) -> int:
    """Tokens of the training sequence: <bos> input <sep> answer <eos>."""
    return len(_TOK.encode(ex.block)) + len(_TOK.encode(ex.answer)) + 3


def long_example(rng: random.Random, rules: Ruleset) -> Example:
    """A lengthy turn (sampler.sample_lengthy) of LONG tokens or more: about one draw in seven is."""
    while True:
        ex = label(sample_lengthy(rng, rules), rules)
        if sequence_tokens(ex) >= LONG:
            return ex


def is_hard(ex: Example, outcome_events: int) -> bool:
    return ex.action in _STRIKES or outcome_events >= 2


def _arith(ex: Example) -> int:
    return ex.answer.split(" | ")[0].count(">")


def draw(rng: random.Random, rules: Ruleset, mix: Mix = Mix()) -> Example:
    """One example from the training distribution (any split)."""
    # decided before the draw, so that the share of boundary (long) turns is at least mix.boundary (mix.long); no
    # random number is taken when all three shares are 0, so a gen without them draws exactly what it drew before
    u = rng.random() if mix.boundary or mix.long or mix.narrow else 1.0
    boundary = u < mix.boundary
    if not boundary and u < mix.boundary + mix.long:
        return long_example(rng, rules)
    # the narrow envelope lies inside the wide one, where a capped heal or a wait at full hp is common (max hp <= 48)
    narrow = mix.boundary + mix.long <= u < mix.boundary + mix.long + mix.narrow
    sampler = SAMPLERS["narrow" if narrow else mix.sampler]
    while True:
        case = sampler.edge(rng, rules) if rng.random() < mix.edge else sampler.plain(rng, rules)
        ex = label(case, rules)
        if boundary and not ex.boundary:
            continue
        if is_hard(ex, _arith(ex)) or rng.random() < mix.easy_keep:
            return ex


def stream(seed: int, split: str, rules: Ruleset, mix: Mix = Mix(), rank: int = 0) -> Iterator[Example]:
    """Endless examples of one split; distinct ranks draw distinct streams."""
    rng = random.Random(f"stream:{seed}:{rank}")
    while True:
        ex = draw(rng, rules, mix)
        if split_of(ex.block) == split:
            yield ex


def forced_mask(answer_pieces: list[str]) -> list[bool]:
    """For each answer token (and the final END), whether the grammar left it no choice."""
    g = answer_grammar()
    allowed = next(g)
    out = []
    for piece in [*answer_pieces, ""]:
        out.append(len(allowed) == 1)
        if piece not in allowed:
            raise ValueError(f"token {piece!r} not allowed by the answer grammar here")
        if piece == "":
            break
        allowed = g.send(piece)
    return out


def manifest_hash(manifest: dict) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]
