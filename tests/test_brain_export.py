"""Smaller model forms: written without pickle, read back, and their rounding is what it should be."""

from __future__ import annotations

import numpy as np
import pytest

from brain.checkpoint import CONFIG, WEIGHTS, ModelLoadError, dequantize_rows, quantize_rows, read_tensors, save_tensors
from brain.engine import ModelResolver
from brain.export import write_form
from brain.suites import held_out
from brain.train import PRESETS, train


def test_int8_rows_round_trip_within_half_a_step():
    w = np.random.default_rng(0).normal(size=(16, 40)).astype(np.float32) * 3
    q, scale = quantize_rows(w)
    assert q.dtype == np.int8 and q.min() >= -127  # stored as safetensors I8, no offset
    assert np.all(np.abs(dequantize_rows(q, scale) - w) <= scale / 2 + 1e-6)


def test_stored_forms_load_and_answer(tmp_path, rules):
    run = tmp_path / "run"
    train(PRESETS["tiny"], run, rules, quiet=True)
    base = ModelResolver.load(run, rules)
    cases = held_out("iid", 4, rules)
    for form, tol in (("fp16", 1e-2), ("int8", 0.1)):
        where = write_form(run, tmp_path / form, form, rules)
        res = ModelResolver.load(where, rules)  # the game's checked loader reads every stored form
        for name, a in base.engine.arrays.items():
            np.testing.assert_allclose(res.engine.arrays[name], a, atol=tol * max(1.0, float(np.abs(a).max())))
        assert all(r.raw for r in res.resolve_batch(cases))  # constrained decoding still finishes an answer
    size = {f: (tmp_path / f / "model.safetensors").stat().st_size for f in ("fp16", "int8")}
    assert size["int8"] < size["fp16"] < (run / "model.safetensors").stat().st_size


def test_a_damaged_int8_form_is_refused_with_the_tensor_named(tmp_path, rules):
    import json

    from brain.checkpoint import sha256_file

    run = tmp_path / "run"
    train(PRESETS["tiny"], run, rules, quiet=True)
    where = write_form(run, tmp_path / "int8", "int8", rules)
    tensors = read_tensors(where / WEIGHTS)
    name = next(k for k in tensors if k.endswith(".q8"))
    tensors[name] = tensors[name].astype(np.float32)  # a matrix stored unquantized under its .q8 name
    save_tensors(where / WEIGHTS, tensors)
    config = json.loads((where / CONFIG).read_text())
    (where / CONFIG).write_text(json.dumps(config | {"weights_sha256": sha256_file(where / WEIGHTS)}))
    with pytest.raises(ModelLoadError, match=rf"{name}: dtype F32, expected I8"):
        ModelResolver.load(where, rules)
    (where / CONFIG).write_text(json.dumps(config | {"weights_form": "int4"}))
    with pytest.raises(ModelLoadError, match="weights_form 'int4'"):
        ModelResolver.load(where, rules)
