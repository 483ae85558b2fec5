"""The Muon option: orthogonalized matrix updates, AdamW for the rest, checkpointed and resumed exactly."""

from __future__ import annotations

import json
from dataclasses import replace

import torch

from brain.checkpoint import LOG, load_model
from brain.muon import MuonAdamW, orthogonalize
from brain.train import PRESETS, make_optimizer, train


def test_orthogonalize_flattens_the_spectrum():
    g = torch.randn(96, 32) @ torch.diag(torch.logspace(-2, 1, 32))  # condition number 1000
    s = torch.linalg.svdvals(orthogonalize(g))
    assert orthogonalize(g).shape == g.shape and s.max() < 1.3 and s.max() / s.min() < 10  # from 1000


def test_muon_takes_the_blocks_matrices_and_adamw_the_rest():
    from brain.model import GPT, GPTConfig

    model = GPT(GPTConfig.from_depth(1, 133, 64, True, True))
    opt = make_optimizer(model, replace(PRESETS["tiny"], optimizer="muon", muon_lr=0.02, lr=1e-3))
    assert isinstance(opt, MuonAdamW)
    names = {id(p): n for n, p in model.named_parameters()}
    muon = {names[id(p)] for g in opt.param_groups if g["muon"] for p in g["params"]}
    assert muon == {f"blocks.0.{m}.weight" for m in ("attn.qkv", "attn.proj", "fc", "out")}
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))
    assert [g.get("lr_scale", 1.0) for g in opt.param_groups] == [20.0, 1.0, 1.0]


def test_a_muon_run_learns_and_resumes_bit_for_bit(tmp_path, rules):
    tc = replace(PRESETS["tiny"], optimizer="muon", steps=20)
    train(tc, tmp_path / "straight", rules, quiet=True)
    log = [json.loads(line) for line in (tmp_path / "straight" / LOG).read_text().splitlines()]
    assert log[-1]["loss"] < log[0]["loss"] and log[-1]["val_loss"] < 4.0
    train(tc, tmp_path / "split", rules, quiet=True, until=10)
    train(tc, tmp_path / "split", rules, quiet=True, resume=True)
    a, b = load_model(tmp_path / "straight")[0].state_dict(), load_model(tmp_path / "split")[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
