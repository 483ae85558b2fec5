"""Smaller model forms: written without pickle, read back, and their rounding is what it should be."""

from __future__ import annotations

import numpy as np

from brain.evaluate import held_out
from brain.export import dequantize_rows, load_form, quantize_rows, write_form
from brain.train import PRESETS, train


def test_int8_rows_round_trip_within_half_a_step():
    w = np.random.default_rng(0).normal(size=(16, 40)).astype(np.float32) * 3
    q, scale = quantize_rows(w)
    assert q.dtype == np.int8 and q.min() >= -127  # stored as safetensors I8, no offset
    assert np.all(np.abs(dequantize_rows(q, scale) - w) <= scale / 2 + 1e-6)


def test_stored_forms_load_and_answer(tmp_path, rules):
    run = tmp_path / "run"
    train(PRESETS["tiny"], run, rules, quiet=True)
    base = load_form(run, rules)
    cases = held_out("iid", 4, rules)
    for form, tol in (("fp16", 1e-2), ("int8", 0.1)):
        where = write_form(run, tmp_path / form, form, rules)
        res = load_form(where, rules)
        for name, a in base.engine.arrays.items():
            np.testing.assert_allclose(res.engine.arrays[name], a, atol=tol * max(1.0, float(np.abs(a).max())))
        assert all(r.raw for r in res.resolve_batch(cases))  # constrained decoding still finishes an answer
    size = {f: (tmp_path / f / "model.safetensors").stat().st_size for f in ("fp16", "int8")}
    assert size["int8"] < size["fp16"] < (run / "model.safetensors").stat().st_size
