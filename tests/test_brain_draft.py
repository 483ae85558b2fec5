"""Exact speculative decoding: whatever the drafter proposes, the answer is the plain greedy answer."""

from __future__ import annotations

import random

import pytest
import torch

from brain.draft import copy_drafter, resync, rules_drafter
from brain.engine import DecodeStats, Engine, ModelResolver
from brain.model import GPT, GPTConfig
from brain.suites import held_out
from brain.tokenizer import Tokenizer
from game.combat.format import END, encode_input
from game.combat.sampler import sample


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer.from_format()


def _random_engine(tok: Tokenizer, seed: int, scale: float, depth: int = 1, head_width: int = 32) -> Engine:
    torch.manual_seed(seed)
    model = GPT(GPTConfig.from_depth(depth, len(tok), head_width=head_width))
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(scale)  # long, varied, wrong answers: the drafts are mostly rejected
    return Engine(model.eval(), tok)


def _decode(engine: Engine, block: str, backend: str, drafter=None, stats=None) -> list[tuple[str, bool]]:
    return [(p, f) for p, _, f in engine.generate_stream(block, backend, drafter, stats)]


def _garbage(rng: random.Random, pieces: list[str]):
    def draft(answer: list[str]) -> list[str]:
        return [rng.choice(pieces) for _ in range(rng.randint(0, 30))]
    return draft


def _flipped(target_drafter, rng: random.Random, pieces: list[str]):
    """The rules' draft with a token changed here and there: agreement, then a wrong token, then agreement."""
    def draft(answer: list[str]) -> list[str]:
        out = list(target_drafter(answer))
        for i in range(len(out)):
            if rng.random() < 0.1:
                out[i] = rng.choice(pieces)
        return out
    return draft


@pytest.mark.parametrize(("backend", "scale"), [("numpy", 1.0), ("numpy", 20.0), ("torch", 20.0)])
def test_every_drafter_gives_the_greedy_answer_on_random_weights(tok, rules, backend, scale):
    engine = _random_engine(tok, seed=3, scale=scale)
    rng = random.Random(0)
    vocab = [p for p in tok.pieces[4:]] + [END]
    n = 8 if backend == "numpy" else 2  # torch at batch 1 is slow; it shares the verification code anyway
    for case in sample("edge", n, 11, rules) + sample("iid", n, 12, rules):
        block = encode_input(*case)
        plain = _decode(engine, block, backend)
        rd = rules_drafter(case, rules, engine.pieces)
        for drafter in (rd, copy_drafter(engine.pieces(block)), _garbage(rng, vocab), _flipped(rd, rng, vocab)):
            stats = DecodeStats()
            assert _decode(engine, block, backend, drafter, stats) == plain, block
            assert stats.accepted <= stats.drafted


@pytest.mark.parametrize("head_width", [32, 16])
def test_numpy_decoder_answers_like_torch_for_every_head_width(tok, rules, head_width):
    """The game decodes with numpy: two 16-wide heads (a 2x32 with --head-width 16) must split the same way."""
    engine = _random_engine(tok, seed=5, scale=4.0, depth=2, head_width=head_width)
    assert engine.model.cfg.n_head == 64 // head_width
    for case in sample("iid", 2, 13, rules) + sample("edge", 2, 14, rules):
        block = encode_input(*case)
        assert _decode(engine, block, "numpy") == _decode(engine, block, "torch"), block


def test_a_right_draft_takes_one_call_and_a_wrong_one_still_gives_greedy(tok, rules):
    engine = _random_engine(tok, seed=5, scale=20.0)
    case = sample("iid", 1, 4, rules)[0]
    block = encode_input(*case)
    plain = [p for p, _ in _decode(engine, block, "numpy")]
    answer_pieces = plain[:-1]  # the greedy answer itself as the draft: accepted whole, one call
    stats = DecodeStats()
    got = _decode(engine, block, "numpy", lambda a: ([*answer_pieces, END])[len(a):], stats)
    assert [p for p, _ in got] == plain
    assert stats.calls == 1 and stats.accepted == len(plain) and stats.rejected == 0
    free = sum(not forced for _, forced in got)
    stats = DecodeStats()
    assert [p for p, _ in _decode(engine, block, "numpy", None, stats)] == plain
    assert stats.calls == free  # plain decoding: one call per token the grammar leaves open


def test_resync_lines_up_on_the_last_label():
    target = ["hit", "0", "8", " damage_dealt", "0", "8", ">", "1", "0", " |", " t", "0", "4"]
    assert resync(target, ["hit", "0", "9", " damage_dealt", "0"]) == ["8", ">", "1", "0", " |", " t", "0", "4"]
    assert resync(target, ["0"]) == []


def test_shipped_model_answers_the_same_with_every_drafter(rules):
    resolver = ModelResolver.load(None, rules, threads=1)
    engine = resolver.engine
    calls = {"rules": 0, "none": 0}
    for suite in ("iid", "edge"):
        for case in held_out(suite, 60, rules, seed=99):
            block = encode_input(*case)
            answers = {}
            for draft in ("none", "rules", "copy"):
                resolver.draft = draft
                stats = DecodeStats()
                answers[draft] = _decode(engine, block, engine.decoder, resolver.drafter(case, block), stats)
                calls[draft] = calls.get(draft, 0) + stats.calls
            assert answers["rules"] == answers["none"] == answers["copy"], block
            # the lab's per-token probabilities come out of the single pass too, the same numbers
            plain = list(engine.generate_stream(block))
            resolver.draft = "rules"
            drafted = list(engine.generate_stream(block, drafter=resolver.drafter(case, block)))
            assert [p for p, _, _ in drafted] == [p for p, _, _ in plain]
            assert all(abs(a - b) < 1e-4 for (_, a, _), (_, b, _) in zip(drafted, plain, strict=True))
    assert calls["rules"] * 10 < calls["none"]  # the point of it: a drafted turn is about one call


def test_the_decode_note_reaches_the_turn_report(rules):
    from game.combat.judge import RulesResolver
    from game.combat_turn import resolve_turn

    resolver = ModelResolver.load(None, rules, threads=1)
    state, action, roll = held_out("iid", 1, rules, seed=5)[0]
    report = resolve_turn(state, action, roll, RulesResolver(rules), resolver, "model")
    assert "draft rules:" in report.model.decode and "accepted" in report.model.decode


def test_the_debug_pane_shows_how_much_of_the_draft_was_taken(content, rules):
    from fakes import spawn_adjacent

    from game.actions import Move
    from game.session import GameSession
    from game.tui.widgets import debug_text

    s = GameSession.new(content, seed=3)
    s.model = ModelResolver.load(None, rules, threads=1)
    s.set_active("model")
    _, (dx, dy) = spawn_adjacent(s, "rat")
    s.perform(Move(dx, dy))
    text = debug_text(s).plain
    assert "decode " in text and "draft rules:" in text and "tokens accepted" in text
