"""Damaged and hostile model directories (issue 13, item 10): each is refused with ModelLoadError naming
the file and what is wrong, before any large allocation, and the game and `rpg-brain resolve` go on safely."""

from __future__ import annotations

import json
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
import torch
from fakes import KEY_OF, clear_monsters, measured_envelope, settle, spawn_adjacent

from brain.checkpoint import CONFIG, WEIGHTS, ModelLoadError, load_weights, save_model, sha256_file
from brain.cli import main as brain_main
from brain.config import GPTConfig, tensor_shapes
from brain.engine import ModelResolver
from brain.model import GPT
from brain.tokenizer import Tokenizer
from game.combat.format import encode_input
from game.combat.sampler import sample


@pytest.fixture(scope="module")
def good(tmp_path_factory, rules) -> Path:
    tok = Tokenizer.from_format()
    torch.manual_seed(0)
    where = tmp_path_factory.mktemp("model") / "m"
    save_model(where, GPT(GPTConfig.from_depth(1, len(tok))).eval(), tok, rules.ruleset_id,
               measured_envelope(rules))
    return where


@pytest.fixture()
def model_dir(good, tmp_path) -> Path:
    shutil.copytree(good, tmp_path / "m")
    return tmp_path / "m"


# ---------------------------------------------------------------- damage, as a hostile file would have it

def _config(d: Path) -> dict:
    return json.loads((d / CONFIG).read_text())


def _set_config(d: Path, change) -> None:
    config = _config(d)
    change(config)
    (d / CONFIG).write_text(json.dumps(config))


def _model_key(key, value):
    def change(config):
        if value is _DELETE:
            del config["model"][key]
        else:
            config["model"][key] = value
    return lambda d: _set_config(d, change)


_DELETE = object()


def _rehash(d: Path) -> None:
    """config.json made to match the damaged weights: only the content checks can catch them."""
    _set_config(d, lambda c: c.__setitem__("weights_sha256", sha256_file(d / WEIGHTS)))


def _weights(change):
    def damage(d: Path):
        arrays = safetensors.numpy.load_file(str(d / WEIGHTS))
        change(arrays)
        (d / WEIGHTS).write_bytes(safetensors.numpy.save(arrays))
        _rehash(d)
    return damage


def _raw_weights(change, rehash: bool = True):
    def damage(d: Path):
        (d / WEIGHTS).write_bytes(change((d / WEIGHTS).read_bytes()))
        if rehash:
            _rehash(d)
    return damage


def _swap_pieces(config):
    pieces = config["tokenizer"]["pieces"]
    pieces[10], pieces[11] = pieces[11], pieces[10]


def _dir_instead(name):
    def damage(d: Path):
        (d / name).unlink()
        (d / name).mkdir()
    return damage


def _nan(arrays):
    arrays["ln_f.weight"] = arrays["ln_f.weight"].copy()
    arrays["ln_f.weight"][3] = np.nan


DAMAGES = [  # (id, damage, file, what the message says)
    ("config-missing", lambda d: (d / CONFIG).unlink(), CONFIG, "missing"),
    ("config-bad-json", lambda d: (d / CONFIG).write_text("{not json"), CONFIG, "not valid JSON"),
    ("config-deep-json", lambda d: (d / CONFIG).write_text("[" * 100_000), CONFIG, "not valid JSON"),
    ("config-not-object", lambda d: (d / CONFIG).write_text("[1, 2]"), CONFIG, "expected a JSON object"),
    ("config-is-dir", _dir_instead(CONFIG), CONFIG, "not a regular file"),
    ("no-n_head", _model_key("n_head", _DELETE), CONFIG, "model.n_head: missing"),
    ("huge-block_size", _model_key("block_size", 10**9), CONFIG, "model.block_size: 1000000000 outside 64..1024"),
    ("tiny-block_size", _model_key("block_size", 8), CONFIG, "model.block_size: 8 outside 64..1024"),
    ("huge-n_layer", _model_key("n_layer", 100_000), CONFIG, "model.n_layer: 100000 outside"),
    ("huge-n_embd", _model_key("n_embd", 2**20), CONFIG, "model.n_embd: 1048576 outside"),
    ("huge-vocab", _model_key("vocab_size", 10**7), CONFIG, "model.vocab_size"),
    ("too-many-params", lambda d: _set_config(d, lambda c: c["model"].update(n_layer=32, n_embd=1024, n_head=32)),
     CONFIG, "parameters"),
    ("bool-layers", _model_key("n_layer", True), CONFIG, "model.n_layer: expected int"),
    ("float-width", _model_key("n_embd", 32.0), CONFIG, "model.n_embd: expected int"),
    ("heads-do-not-divide", _model_key("n_head", 3), CONFIG, "model.n_head"),
    ("one-wide-head", lambda d: _set_config(d, lambda c: c["model"].update(n_embd=1024, n_head=1)), CONFIG,
     "model.n_head: heads of 1024 dims"),
    ("unknown-key", _model_key("dropout", 0), CONFIG, "model.dropout: unknown key"),
    ("swapped-pieces", lambda d: _set_config(d, _swap_pieces), CONFIG, "tokenizer.pieces: differ"),
    ("tokenizer-not-list", lambda d: _set_config(d, lambda c: c.__setitem__("tokenizer", {"pieces": 7})), CONFIG,
     "tokenizer"),
    ("wrong-layers-for-weights", _model_key("n_layer", 2), WEIGHTS, "tensors do not match"),
    ("weights-missing", lambda d: (d / WEIGHTS).unlink(), WEIGHTS, "missing"),
    ("weights-is-dir", _dir_instead(WEIGHTS), WEIGHTS, "not a regular file"),
    ("weights-truncated", _raw_weights(lambda b: b[:len(b) // 2], rehash=False), WEIGHTS, "sha256 differs"),
    ("weights-truncated-rehashed", _raw_weights(lambda b: b[:len(b) // 2]), WEIGHTS, "not a readable safetensors"),
    ("weights-garbage", _raw_weights(lambda b: b"\xff" * 64), WEIGHTS, "not a readable safetensors"),
    ("weights-padded", _raw_weights(lambda b: b + b"\0" * (2 << 20)), WEIGHTS, "implies about"),
    ("weights-fp16", _weights(lambda a: a.update({k: v.astype(np.float16) for k, v in a.items()})), WEIGHTS,
     "dtype F16, expected F32"),
    ("weights-transposed", _weights(lambda a: a.update({"blocks.0.fc.weight": a["blocks.0.fc.weight"].T.copy()})),
     WEIGHTS, "blocks.0.fc.weight: shape [32, 128]"),
    ("weights-extra-tensor", _weights(lambda a: a.update({"backdoor": np.zeros(4, np.float32)})), WEIGHTS,
     "unexpected ['backdoor']"),
    ("weights-missing-tensor", _weights(lambda a: a.pop("ln_f.bias")), WEIGHTS, "missing ['ln_f.bias']"),
    ("weights-nan", _weights(_nan), WEIGHTS, "ln_f.weight: holds NaN"),
    ("other-ruleset", lambda d: _set_config(d, lambda c: c.__setitem__("ruleset_id", "rs-0")), CONFIG,
     "trained on ruleset"),
    ("other-format", lambda d: _set_config(d, lambda c: c.__setitem__("format_version", 999)), CONFIG,
     "block format"),
]


def test_the_table_covers_at_least_fifteen_kinds():
    assert len(DAMAGES) >= 15 and len({d[0] for d in DAMAGES}) == len(DAMAGES)


@pytest.mark.parametrize("damage, name, message", [d[1:] for d in DAMAGES], ids=[d[0] for d in DAMAGES])
def test_damaged_model_directory_is_refused_naming_the_file(model_dir, rules, damage, name, message):
    damage(model_dir)
    tracemalloc.start()
    try:
        with pytest.raises(ModelLoadError) as err:
            ModelResolver.load(model_dir, rules)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    text = str(err.value)
    assert str(model_dir / name) in text and message in text, text
    assert peak < 16 << 20, f"{peak / 1e6:.0f} MB allocated before refusing"


def test_the_good_directory_loads(model_dir, rules):
    cfg, _, _, arrays = load_weights(model_dir, rules.ruleset_id)
    assert {k: v.shape for k, v in arrays.items()} == tensor_shapes(cfg)


@pytest.mark.parametrize("depth, rope, roles", [(1, True, True), (2, False, True), (1, True, False)])
def test_tensor_shapes_match_the_torch_model(depth, rope, roles):
    cfg = GPTConfig.from_depth(depth, 133, block_size=64, rope=rope, roles=roles)
    assert {k: tuple(v.shape) for k, v in GPT(cfg).state_dict().items()} == tensor_shapes(cfg)


def test_rpg_brain_resolve_refuses_a_damaged_model(model_dir, capsys, monkeypatch):
    _model_key("block_size", 10**9)(model_dir)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("x\n"))
    assert brain_main(["resolve", "--resolver", "model", "--model", str(model_dir)]) == 2
    err = capsys.readouterr().err
    assert str(model_dir / CONFIG) in err and "model.block_size" in err


async def test_the_game_plays_on_rules_with_a_damaged_model(model_dir, tmp_path, run_app):
    _swap_pieces_in = _set_config
    _swap_pieces_in(model_dir, _swap_pieces)
    async with run_app(seed=3, save_dir=tmp_path / "saves", resolver="model", model_dir=model_dir) as (app, pilot):
        s = app.session
        assert s.model_status.startswith("unavailable (") and str(model_dir / CONFIG) in s.model_status
        clear_monsters(s)
        _, d = spawn_adjacent(s, "rat")
        await pilot.press(KEY_OF[d])
        await settle(pilot)
        assert s.recent and s.recent[-1].fallback == "model not loaded" and s.recent[-1].applied is s.recent[-1].rules


def test_a_good_model_answers_blocks(model_dir, rules):
    resolver = ModelResolver.load(model_dir, rules)
    res = resolver.resolve_batch(sample("iid", 2, 1, rules))
    assert len(res) == 2 and all(r.raw for r in res)
    assert encode_input(*sample("iid", 1, 1, rules)[0])


async def test_the_log_says_once_why_model_onnx_was_not_used(tmp_path, rules, run_app):
    """decoder_note reaches the message log, once; the status line names the decoder only (test_tui_screens)."""
    from fakes import PerfectModel

    class NumpyOnly(PerfectModel):
        decoder, model_dir = "numpy", Path("/models/default")
        decoder_note = "model.onnx not used: /models/default/model.onnx: exported from other weights"

    async with run_app(seed=3, save_dir=tmp_path / "saves", resolver="model",
                       model_loader=lambda: NumpyOnly(rules)) as (app, _pilot):
        assert app.session.model_status == "loaded (default, numpy decoder)"
        assert [m.text for m in app.session.messages.items if NumpyOnly.decoder_note in m.text]


def test_the_shipped_int8_form_is_offered_beside_the_model(tmp_path, monkeypatch):
    import brain.paths as paths

    monkeypatch.setattr(paths, "shipped_model_dir", lambda: tmp_path / "models" / "default")
    monkeypatch.setattr(paths, "user_models_dir", lambda: tmp_path / "user")
    (tmp_path / "models" / "default").mkdir(parents=True)
    assert paths.available_models() == [tmp_path / "models" / "default"]
    (tmp_path / "models" / "default-int8").mkdir()
    (tmp_path / "user" / "mine").mkdir(parents=True)
    assert paths.available_models() == [tmp_path / "models" / "default", tmp_path / "models" / "default-int8",
                                        tmp_path / "user" / "mine"]
