"""Tokenizer: exact round trip on sampled blocks and answers, clear errors, agreement with the grammar."""

from __future__ import annotations

import pytest

from brain.data import forced_mask, label, split_of
from brain.tokenizer import SPECIALS, Roles, Tokenizer, TokenizerError
from game.combat.format import END, answer_grammar, encode_input, vocabulary
from game.combat.sampler import sample


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer.from_format()


def test_vocabulary_is_the_format_plus_specials(tok):
    assert tok.pieces == [*SPECIALS, *vocabulary()]
    assert tok.id_of(END) == tok.eos


@pytest.mark.parametrize("suite", ["iid", "edge"])
def test_round_trip_of_inputs_and_answers(tok, rules, suite):
    for case in sample(suite, 400, 11, rules):
        ex = label(case, rules)
        for text in (ex.block, ex.answer):
            ids = tok.encode(text)
            assert tok.decode(ids) == text
            assert all(i >= len(SPECIALS) for i in ids)


def test_answer_tokens_follow_the_grammar(tok, rules):
    """The tokenizer splits answers exactly where the decoder's grammar does."""
    for case in sample("edge", 300, 5, rules):
        pieces = [tok.pieces[i] for i in tok.encode(label(case, rules).answer)]
        g = answer_grammar()
        allowed = next(g)
        for p in pieces:
            assert p in allowed
            allowed = g.send(p)
        assert END in allowed
        assert len(forced_mask(pieces)) == len(pieces) + 1


@pytest.mark.parametrize("text, column, char",
                         [("t07 A hp2x", 10, "x"), ("t07é", 4, "é"), ("t07 !", 4, " "), ("?", 1, "?")])
def test_unknown_character_names_column_and_character(tok, text, column, char):
    with pytest.raises(TokenizerError) as err:
        tok.encode(text)
    assert f"column {column}" in str(err.value) and repr(char) in str(err.value)


def test_saved_tokenizer_loads_and_bad_json_is_refused(tok, tmp_path):
    tok.save(tmp_path / "tok.json")
    import json

    again = Tokenizer.from_json(json.loads((tmp_path / "tok.json").read_text()))
    assert again.pieces == tok.pieces
    with pytest.raises(TokenizerError):
        Tokenizer.from_json({"pieces": ["a", "b"]})
    with pytest.raises(TokenizerError):
        Tokenizer.from_json({"pieces": [*SPECIALS, "x", "x"]})


def test_roles_mark_the_same_field_alike_in_input_and_answer(tok, rules):
    roles = Roles(tok)
    case = sample("iid", 1, 3, rules)[0]
    ex = label(case, rules)
    ids = [tok.bos, *tok.encode(ex.block), tok.sep, *tok.encode(ex.answer), tok.eos]
    r = roles.of(ids)
    cd = tok.ids[" cd"]
    # the 3rd cooldown digit of A: same side, field and offset in the input and in the next-state block
    where = [i for i, t in enumerate(ids) if t == cd]
    a_in, a_out = where[0], where[2]
    assert r[a_in + 3][1:] == r[a_out + 3][1:] == (1, tok.ids["cd"], 3)
    assert r[a_in + 3][0] == 0 and r[a_out + 3][0] == 2


def test_split_is_a_function_of_the_block(rules):
    blocks = [encode_input(*c) for c in sample("iid", 2000, 1, rules)]
    splits = [split_of(b) for b in blocks]
    assert splits == [split_of(b) for b in blocks]
    share = splits.count("test") / len(splits)
    assert 0.03 < share < 0.07 and splits.count("train") / len(splits) > 0.85
