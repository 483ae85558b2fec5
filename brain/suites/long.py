"""long: turns whose whole sequence (prompt and answer) is LONG tokens or more, the lengths where narrow models
broke (41% wrong at 220+ tokens, 0.6% below 200)."""

from __future__ import annotations

import random

from brain.suites.registry import Suite, register
from brain.tokenizer import Tokenizer
from game.combat.format import encode_answer, encode_input
from game.combat.rules import resolve
from game.combat.ruleset import Ruleset
from game.combat.sampler import Case, sample_lengthy

LONG = 220
_TOK = Tokenizer.from_format()


def sequence_tokens(case: Case, rules: Ruleset) -> int:
    """Tokens of the training sequence of a turn: <bos> input <sep> answer <eos>."""
    out = resolve(*case, rules)
    return len(_TOK.encode(encode_input(*case))) + len(_TOK.encode(encode_answer(out.events, out.next_state))) + 3


def draw_long(rng: random.Random, rules: Ruleset) -> Case:
    """A lengthy turn (sampler.sample_lengthy) of LONG tokens or more: about one draw in seven is."""
    while True:
        case = sample_lengthy(rng, rules)
        if sequence_tokens(case, rules) >= LONG:
            return case


register(Suite("long", f"turns of {LONG} tokens or more (crowded boards writing many events)", draw=draw_long))
