"""Inference: constrained decoding always parses, every decoding path agrees, and bad models fail clearly."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from fakes import measured_envelope

from brain.checkpoint import CONFIG, WEIGHTS, ModelLoadError, save_model
from brain.engine import Engine, ModelResolver
from brain.lockstep import token_mask
from brain.model import GPT, GPTConfig
from brain.tokenizer import Tokenizer
from game.combat.format import END, answer_grammar, encode_input, parse_answer
from game.combat.judge import resolve_blocks
from game.combat.ruleset import Ruleset
from game.combat.sampler import sample


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Two torch threads stall when another process holds a core (docs/brain.md); tests use one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer.from_format()


def _random_model(tok, seed: int, rope: bool = True, scale: float = 20.0) -> GPT:
    """Random weights, scaled up so that greedy answers are long, varied and wrong."""
    torch.manual_seed(seed)
    model = GPT(GPTConfig.from_depth(1, len(tok), rope=rope))
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.mul_(scale)
    return model.eval()


def _reference(engine: Engine, block: str) -> str:
    """Greedy constrained decoding without a cache: the whole prefix through the model each step."""
    ids = engine.prompt(block)
    g = answer_grammar()
    allowed, out = next(g), []
    while True:
        logits = engine.model(torch.tensor([ids]), torch.tensor([engine.roles.of(ids)]))[0, -1]
        allowed = engine._room(allowed, len(ids))
        best = int(logits.masked_fill(~token_mask(engine, allowed, logits.device), float("-inf")).argmax())
        piece = END if best == engine.tok.eos else engine.tok.pieces[best]
        if piece == END:
            return "".join(out)
        out.append(piece)
        ids.append(best)
        allowed = g.send(piece)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_weights_always_give_parsable_answers(tok, rules, seed):
    engine = Engine(_random_model(tok, seed), tok)
    cases = sample("edge", 12, seed, rules)
    for case, text in zip(cases, engine.generate([encode_input(*c) for c in cases]), strict=True):
        parse_answer(text, case[0])  # raises FormatError if the grammar let anything through


@pytest.mark.parametrize("rope", [True, False])
def test_batched_single_and_uncached_decoding_agree(tok, rules, rope):
    engine = Engine(_random_model(tok, 3, rope=rope, scale=4.0), tok)
    blocks = [encode_input(*c) for c in sample("iid", 3, 4, rules)]
    batched = engine.generate(blocks)
    fast = [engine.generate([b])[0] for b in blocks]
    lockstep = [engine.generate([b], fast_forward=False)[0] for b in blocks]
    assert batched == fast == lockstep == [_reference(engine, b) for b in blocks]


def test_stream_reports_forced_tokens_and_probabilities(tok, rules):
    engine = Engine(_random_model(tok, 5, scale=2.0), tok)
    block = encode_input(*sample("iid", 1, 0, rules)[0])
    steps = list(engine.generate_stream(block))
    assert steps[-1][0] == END
    assert "".join(p for p, _, _ in steps) == engine.generate([block, block])[0]
    assert all(0.0 < prob <= 1.0 for _, prob, _ in steps)
    forced = [p for p, prob, f in steps if f]
    assert " t" in forced and all(prob == 1.0 for _, prob, f in steps if f)


@pytest.fixture()
def model_dir(tmp_path, tok, rules):
    save_model(tmp_path / "m", _random_model(tok, 0, scale=1.0), tok, rules.ruleset_id, measured_envelope(rules))
    return tmp_path / "m"


def test_model_resolver_answers_or_reports_an_error(model_dir, rules):
    resolver = ModelResolver.load(model_dir, rules)
    blocks = [encode_input(*c) for c in sample("iid", 10, 1, rules)] + ["not a block"]
    results = resolve_blocks(resolver, blocks, rules)
    assert len(results) == len(blocks)
    assert results[-1].error.startswith("malformed input")
    for res in results[:-1]:  # random weights: wrong, but always judged, never a crash
        assert res.resolver == "model" and (res.ok or res.error.startswith("invariant broken"))


@pytest.mark.parametrize("damage, message", [
    (lambda d: shutil.rmtree(d), "no such model directory"),
    (lambda d: (d / CONFIG).unlink(), "missing"),
    (lambda d: (d / WEIGHTS).unlink(), "missing"),
    (lambda d: (d / CONFIG).write_text("{not json"), "not valid JSON"),
    (lambda d: (d / WEIGHTS).write_bytes((d / WEIGHTS).read_bytes()[:1000]), "sha256 differs"),
    (lambda d: (d / WEIGHTS).write_bytes(b"\0" * 100), "sha256 differs"),
])
def test_damaged_model_directories_give_model_load_error(model_dir, rules, damage, message):
    damage(model_dir)
    with pytest.raises(ModelLoadError, match=message):
        ModelResolver.load(model_dir, rules)


def test_truncated_weights_with_matching_hash_still_refused(model_dir, rules):
    """Even if config.json is rewritten to match, a truncated safetensors file is caught by the reader."""
    from brain.checkpoint import sha256_file

    (model_dir / WEIGHTS).write_bytes((model_dir / WEIGHTS).read_bytes()[:-64])
    config = json.loads((model_dir / CONFIG).read_text())
    config["weights_sha256"] = sha256_file(model_dir / WEIGHTS)
    (model_dir / CONFIG).write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="truncated"):
        ModelResolver.load(model_dir, rules)


@pytest.mark.parametrize("key, value, message", [
    ("ruleset_id", "rs-000000000000", "trained on ruleset"),
    ("format_version", 999, "block format"),
    ("model", {"n_layer": "x"}, "bad model config"),
])
def test_mismatched_config_is_refused(model_dir, rules, key, value, message):
    config = json.loads((model_dir / CONFIG).read_text())
    config[key] = value
    (model_dir / CONFIG).write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=message):
        ModelResolver.load(model_dir, rules)


def test_other_rules_are_refused(model_dir):
    with pytest.raises(ModelLoadError, match="retrain"):
        ModelResolver.load(model_dir, Ruleset(heal_amount=7))
