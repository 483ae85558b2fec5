"""The canonical format: round trips, strict errors, and the decoding grammar."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import cases

from game.combat import resolve
from game.combat.format import (
    END,
    FormatError,
    answer_grammar,
    encode_answer,
    encode_input,
    encode_output,
    parse_answer,
    parse_input,
    parse_output,
    vocabulary,
)
from game.combat.sampler import sample
from game.combat.validate import check_state, check_transition, diff, involved_rules


@given(cases())
def test_input_round_trip(case):
    assert parse_input(encode_input(*case)) == case


@given(cases())
def test_answer_round_trip_and_invariants(rules, case):
    state, action, roll = case
    out = resolve(state, action, roll, rules)
    text = encode_answer(out.events, out.next_state)
    assert parse_answer(text, state) == (out.events, out.next_state)
    assert parse_output(encode_output(out.next_state), state) == out.next_state
    assert check_state(state) == []
    assert check_transition(state, action, out.next_state) == []


def test_typical_input_is_short(rules):
    lengths = sorted(len(encode_input(*c)) for c in sample("iid", 2000, 0, rules))
    assert lengths[len(lengths) // 2] < 120


def _mutate(text: str, rng: random.Random) -> str:
    i = rng.randrange(len(text) + 1)
    op = rng.randrange(5)
    if op == 0:
        return text[:i] + rng.choice("0123456789 :/>|abchprt_-x") + text[i:]
    if op == 1:
        return text[:i] + text[i + 1:]
    if op == 2:
        return text[:i]
    if op == 3:
        j = rng.randrange(len(text) + 1)
        return text[:min(i, j)] + text[max(i, j):]
    return text[:i] + text[i:].replace(" ", "  ", 1)


@settings(max_examples=300)
@given(cases(), st.integers(0, 2**32))
def test_mutated_blocks_only_raise_format_error(rules, case, seed):
    rng = random.Random(seed)
    state, action, roll = case
    out = resolve(state, action, roll, rules)
    for text, parse in ((encode_input(*case), parse_input),
                        (encode_answer(out.events, out.next_state), lambda t: parse_answer(t, state)),
                        (encode_output(out.next_state), lambda t: parse_output(t, state))):
        for _ in range(5):
            mutated = _mutate(text, rng)
            try:
                parse(mutated)
            except FormatError as exc:
                assert exc.column >= 1 and exc.field and exc.expected


def test_error_names_column_field_and_expectation():
    text = "t07 A hp23/30 pw05 ar01 cd030000 B hp18/24 pw04 arXX cd000000 do attack r3"
    with pytest.raises(FormatError) as info:
        parse_input(text)
    err = info.value
    assert err.field == "B.armor" and err.expected == "2 digits" and text[err.column - 1:].startswith("XX")


@pytest.mark.parametrize("text, field", [
    ("", "turn"),
    ("t07 A hp23/30 pw05 ar01 cd030000 B hp18/24 pw04 ar00 cd000000 do dance r3", "action"),
    ("t07 A hp31/30 pw05 ar01 cd030000 B hp18/24 pw04 ar00 cd000000 do attack r3", "A.hp"),
    ("t07 A hp23/30 pw05 ar01 cd030000 po02:1 po02:1 B hp18/24 pw04 ar00 cd000000 do wait r3", "A.poison"),
    ("t07 A hp23/30 pw05 ar01 cd030000 sh00:1 B hp18/24 pw04 ar00 cd000000 do wait r3", "A.shield.magnitude"),
    ("t07 A hp23/30 pw05 ar01 cd030000 B hp18/24 pw04 ar00 cd000000 do wait r3 ", "roll"),
    ("t07 A hp23/30 pw05 ar01 cd03000 B hp18/24 pw04 ar00 cd000000 do wait r3", "A.cd.brace"),
    ("t07 A hp23/30 pw05 ar01 cd030000 st0 B hp18/24 pw04 ar00 cd000000 do wait r3", "A.stun.turns"),
])
def test_bad_inputs(text, field):
    with pytest.raises(FormatError) as info:
        parse_input(text)
    assert info.value.field == field


def test_input_accepts_any_status_order_output_demands_canonical(rules):
    text = "t07 A hp23/30 pw05 ar01 cd030000 fr02:1 sh04:2 B hp18/24 pw04 ar00 cd000000 do wait r3"
    state, _, _ = parse_input(text)
    assert encode_input(state, "wait", 3) != text  # canonical order puts sh first
    with pytest.raises(FormatError, match="canonical order"):
        parse_output("t08 A hp23 cd020000 fr02:1 sh04:1 B hp18 cd000000", state)


def _walk(rng: random.Random) -> tuple[list[str], str]:
    """A random path through the answer grammar: the tokens and the text they spell."""
    g = answer_grammar()
    allowed = next(g)
    tokens = []
    while END not in allowed:
        tok = rng.choice(sorted(allowed))
        tokens.append(tok)
        allowed = g.send(tok)
    return tokens, "".join(tokens)


def test_every_grammar_path_parses(rules):
    rng = random.Random(0)
    state = sample("iid", 1, 0, rules)[0][0]
    vocab = set(vocabulary())
    for _ in range(300):
        tokens, text = _walk(rng)
        assert set(tokens) <= vocab
        parse_answer(text, state)  # raises if the grammar allowed something the parser rejects


def test_grammar_accepts_every_true_answer(rules):
    for state, action, roll in sample("edge", 300, 1, rules):
        out = resolve(state, action, roll, rules)
        text = encode_answer(out.events, out.next_state)
        g = answer_grammar()
        allowed, pos = next(g), 0
        while pos < len(text):
            tok = max((t for t in allowed if text.startswith(t, pos)), key=len)
            pos += len(tok)
            allowed = g.send(tok)
        assert END in allowed


def test_diff_names_fields_and_rules(rules):
    state, _, _ = parse_input("t07 A hp23/30 pw05 ar01 cd030000 B hp18/24 pw04 ar00 cd000000 do attack r3")
    out = resolve(state, "attack", 3, rules)
    wrong = parse_output("t08 A hp23 cd020000 B hp11 cd000000", state)
    d = diff(out.next_state, wrong)
    assert [(x.field, x.left, x.right) for x in d] == [("B.hp", 10, 11)]
    assert involved_rules("B.hp", out.events) == ["hit", "damage_dealt"]
