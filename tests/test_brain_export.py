"""Smaller model forms: written without pickle, read back, and their rounding is what it should be."""

from __future__ import annotations

import torch

from brain.evaluate import held_out
from brain.export import dequantize_rows, load_form, quantize_rows, write_form
from brain.train import PRESETS, train


def test_int8_rows_round_trip_within_half_a_step():
    w = torch.randn(16, 40) * 3
    q, scale = quantize_rows(w)
    assert q.dtype == torch.uint8
    assert torch.all((dequantize_rows(q, scale) - w).abs() <= scale / 2 + 1e-6)


def test_stored_forms_load_and_answer(tmp_path, rules):
    run = tmp_path / "run"
    train(PRESETS["tiny"], run, rules, quiet=True)
    base = load_form(run, rules)
    cases = held_out("iid", 4, rules)
    for form, tol in (("fp16", 1e-2), ("int8", 0.1)):
        where = write_form(run, tmp_path / form, form, rules)
        res = load_form(where, rules)
        for a, b in zip(base.engine.model.state_dict().values(), res.engine.model.state_dict().values(), strict=True):
            assert torch.allclose(a, b, atol=tol * max(1.0, a.abs().max().item()))
        assert all(r.raw for r in res.resolve_batch(cases))  # constrained decoding still finishes an answer
    size = {f: (tmp_path / f / "model.safetensors").stat().st_size for f in ("fp16", "int8")}
    assert size["int8"] < size["fp16"] < (run / "model.safetensors").stat().st_size
