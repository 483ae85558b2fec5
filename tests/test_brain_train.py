"""Training: tiny runs are deterministic, resume exactly, and run under DDP with gloo."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from script_loader import load_script

from brain.checkpoint import CONFIG, LOG, load_model
from brain.model import GPT, GPTConfig
from brain.train import PRESETS, lr_at, train

TINY = PRESETS["tiny"]


def _weights(run: Path) -> dict[str, torch.Tensor]:
    model, _, _ = load_model(run)
    return model.state_dict()


def test_tiny_run_learns_and_writes_a_model(tmp_path, rules):
    row = train(TINY, tmp_path, rules, quiet=True)
    log = [json.loads(line) for line in (tmp_path / LOG).read_text().splitlines()]
    assert log[-1] == row and row["step"] == TINY.steps
    assert log[-1]["loss"] < log[0]["loss"]  # 20 steps move the loss off its uniform start
    config = json.loads((tmp_path / CONFIG).read_text())
    assert config["ruleset_id"] == rules.ruleset_id and config["train"]["step"] == TINY.steps


def test_same_seed_same_weights(tmp_path, rules):
    train(TINY, tmp_path / "a", rules, quiet=True)
    train(TINY, tmp_path / "b", rules, quiet=True)
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_gives_the_same_loss_and_weights(tmp_path, rules):
    straight = train(TINY, tmp_path / "straight", rules, quiet=True)
    train(TINY, tmp_path / "split", rules, quiet=True, until=TINY.steps // 2)
    cut = json.loads((tmp_path / "split" / CONFIG).read_text())
    assert cut["train"]["step"] == TINY.steps // 2
    resumed = train(TINY, tmp_path / "split", rules, quiet=True, resume=True)
    assert resumed["loss"] == pytest.approx(straight["loss"], abs=1e-6)
    assert resumed["val_loss"] == pytest.approx(straight["val_loss"], abs=1e-6)
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "split")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    steps = [json.loads(line)["step"] for line in (tmp_path / "split" / LOG).read_text().splitlines()]
    assert steps == sorted(set(steps))  # no step logged twice


def test_schedule_warms_up_then_decays():
    tc = replace(TINY, steps=100, warmup=10, lr=1.0, min_lr_frac=0.1)
    lrs = [lr_at(tc, s) for s in range(100)]
    assert lrs[0] < lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(lrs[10:]))
    assert lrs[-1] == pytest.approx(0.1, abs=0.01)


@pytest.mark.slow
def test_ddp_two_cpu_processes_with_gloo(tmp_path):
    """torchrun with two CPU ranks trains the tiny preset and rank 0 writes the checkpoint."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "brain.cli", "train", "--preset", "tiny", "--threads", "1", "--out", str(tmp_path / "ddp")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr[-2000:]
    config = json.loads((tmp_path / "ddp" / CONFIG).read_text())
    assert config["train"]["world"] == 2 and config["train"]["step"] == PRESETS["tiny"].steps
    assert "(DDP)" in proc.stderr


# ------------------------------------------------------------------ one training step, the width dial


def test_one_training_step_for_every_trainer():
    """train, finetune and sweep (and scripts) step through train.train_step: no other backward() in brain/."""
    root = Path(__file__).resolve().parents[1]
    callers = {p.relative_to(root).as_posix() for p in [*root.glob("brain/**/*.py"), *root.glob("scripts/*.py")]
               if ".backward(" in p.read_text()}
    assert callers == {"brain/train.py"}
    for name in ("brain/train.py", "brain/finetune.py", "brain/sweep.py"):
        assert "train_step(" in (root / name).read_text(), name


def test_train_step_follows_the_schedule_and_learns(rules):
    from brain.model import GPT
    from brain.tokenizer import Tokenizer
    from brain.train import batches, make_optimizer, train_step

    tc = replace(TINY, optimizer="muon", steps=30, warmup=3)
    torch.manual_seed(0)
    model = GPT(tc.model_config(len(Tokenizer.from_format())))
    opt = make_optimizer(model, tc)
    x, y, r = (torch.from_numpy(a) for a in next(batches(tc, rules, 0, 0)))
    losses = []
    for step in range(12):
        loss, lr = train_step(model, opt, tc, step, x, y, r)
        losses.append(float(loss))
        assert lr == lr_at(tc, step)
        assert sorted({g["lr"] for g in opt.param_groups}) == pytest.approx(sorted({lr, lr * tc.muon_lr / tc.lr}))
    assert losses[-1] < 0.8 * losses[0]  # one batch, twelve steps: it is being fitted


@pytest.mark.parametrize("rope", [True, False])
def test_training_loss_skips_what_no_target_sees_and_is_the_same_loss(rules, rope):
    """GPT.loss drops the tokens after each row's last target (padding, end token) and runs the head only at
    targets: loss and every gradient equal those of the full logits, with rows of different lengths."""
    from brain.model import GPT
    from brain.tokenizer import Tokenizer
    from brain.train import batches

    tc = replace(TINY, depth=2, rope=rope, batch_size=12)
    torch.manual_seed(1)
    model = GPT(tc.model_config(len(Tokenizer.from_format())))
    x, y, r = (torch.from_numpy(a) for a in next(batches(tc, rules, 0, 0)))
    lengths = (x != Tokenizer.from_format().pad).sum(1)
    assert len(set(lengths.tolist())) > 1  # there is padding to skip
    logits = model(x, r)
    full = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1), ignore_index=-1)
    want = torch.autograd.grad(full, list(model.parameters()))
    loss = model(x, r, targets=y)  # the path train_step takes (through forward, for DDP)
    got = torch.autograd.grad(loss, list(model.parameters()))
    assert loss.item() == pytest.approx(full.item(), rel=1e-5)
    for (name, _), g, w in zip(model.named_parameters(), got, want, strict=True):
        assert torch.allclose(g, w, atol=1e-6), name
    # a change after a row's last target changes nothing; one before it does
    row, last = 0, int(torch.nonzero(y[0] != -1).max())
    x2 = x.clone()
    x2[row, last + 1] = (x2[row, last + 1] + 1) % 133
    assert model(x2, r, targets=y).item() == loss.item()
    x2[row, last] = (x2[row, last] + 1) % 133
    assert model(x2, r, targets=y).item() != loss.item()


def test_width_dial(tmp_path, rules):
    from brain.cli import main

    assert TINY.model_config(133).n_embd == 32 * TINY.depth  # None: today's shape, shipped models unchanged
    cfg = replace(TINY, depth=1, width=64).model_config(133)
    assert (cfg.n_layer, cfg.n_embd, cfg.n_head) == (1, 64, 2)
    with pytest.raises(ValueError, match="multiple of 32"):
        replace(TINY, width=48)
    assert main(["train", "--preset", "tiny", "--depth", "1", "--width", "64", "--steps", "2", "--out",
                 str(tmp_path / "w64")]) == 0
    model, _, config = load_model(tmp_path / "w64")
    assert (model.cfg.n_embd, model.cfg.n_head) == (64, 2) and config["train"]["config"]["width"] == 64


def test_head_width_dial(tmp_path, rules):
    from brain.cli import main

    cfg = replace(TINY, depth=2, width=32, head_width=16).model_config(133)
    assert (cfg.n_layer, cfg.n_embd, cfg.n_head) == (2, 32, 2)  # same parameters as one 32-wide head
    assert replace(TINY, width=48, head_width=16).model_config(133).n_head == 3
    for bad, message in ((15, "even number"), (0, "even number"), (24, "multiple of 24")):
        with pytest.raises(ValueError, match=message):
            replace(TINY, width=32, head_width=bad)
    assert main(["train", "--preset", "tiny", "--depth", "2", "--width", "32", "--head-width", "16", "--steps", "2",
                 "--out", str(tmp_path / "h16")]) == 0
    model, _, config = load_model(tmp_path / "h16")
    assert (model.cfg.n_embd, model.cfg.n_head) == (32, 2) and config["train"]["config"]["head_width"] == 16


def test_init_layers_keeps_the_first_blocks_of_a_deeper_model(tmp_path, rules):
    """`--init DEEP --init-layers 1`: a one-block model whose block, embeddings and final norm are DEEP's own."""
    from brain.cli import main

    assert main(["train", "--preset", "tiny", "--depth", "2", "--steps", "2", "--out", str(tmp_path / "deep")]) == 0
    assert main(["train", "--preset", "tiny", "--init", str(tmp_path / "deep"), "--init-layers", "1", "--steps", "0",
                 "--out", str(tmp_path / "short")]) == 0
    deep, short = _weights(tmp_path / "deep"), _weights(tmp_path / "short")
    assert set(short) == {k for k in deep if not k.startswith("blocks.1.")} and len(short) < len(deep)
    assert all(torch.equal(short[k], deep[k]) for k in short)
    assert main(["train", "--preset", "tiny", "--init", str(tmp_path / "deep"), "--init-layers", "3", "--steps", "1",
                 "--out", str(tmp_path / "bad")]) == 2  # more blocks than it has: an error, not a crash


def test_width_not_a_multiple_of_32_is_a_clear_error(tmp_path):
    out = subprocess.run([sys.executable, "-m", "brain.cli", "train", "--preset", "tiny", "--width", "40", "--out",
                          str(tmp_path / "run")], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip() == ("rpg-brain: TrainConfig.width: 40, expected a positive multiple of 32 "
                                  "(heads are 32 wide)")
    assert not (tmp_path / "run").exists()


def test_grow_depth_keeps_the_answers_then_trains_the_new_blocks():
    """scripts/grow_depth.py: interleaved blocks with zeroed residual projections compute what the old model did,
    and a step of training reaches them (zero outputs, not frozen ones)."""
    grow_depth = load_script("grow_depth")
    torch.manual_seed(1)
    old = GPT(GPTConfig.from_depth(1, 40, width=64)).eval()
    for p in old.parameters():  # weights unlike any fresh init, as a trained model's are
        p.data += 0.05 * torch.randn_like(p)
    new = grow_depth.grow(old, 3).eval()
    assert new.cfg.n_layer == 3 and new.num_params() > 2 * old.num_params()
    idx = torch.randint(4, 40, (2, 12))
    roles = torch.stack([torch.zeros_like(idx), torch.ones_like(idx), idx, torch.zeros_like(idx)], dim=-1)
    with torch.no_grad():
        assert torch.allclose(old(idx, roles), new(idx, roles), atol=1e-5)
    new.train()
    new(idx, roles, targets=idx).backward()
    assert new.blocks[1].out.weight.grad.abs().sum() > 0 and new.blocks[2].attn.proj.weight.grad.abs().sum() > 0
    with pytest.raises(SystemExit, match="multiple of the old depth"):
        grow_depth.grow(new, 4)
