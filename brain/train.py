"""Training: next-token loss on the answer tokens, AdamW (or Muon + AdamW) with warmup and cosine decay.

The data is either the token shards of `rpg-brain gen` (`--data DIR`,
brain/shards.py: no rule is evaluated while training) or an endless stream
from the rules engine (brain.data). Either way batch i of rank r is a function
of the seed, so a run is deterministic given its seed and a resumed run sees
exactly the batches it would have seen. Only train-split blocks are used. Grammar-forced
answer tokens carry no loss: the decoder never asks the model for them.

Runs on CPU, on CUDA, and under torchrun (DDP; gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import random
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from brain.checkpoint import (
    CONFIG,
    LOG,
    OPTIM_JSON,
    ModelLoadError,
    load_model,
    load_optimizer,
    model_envelope,
    read_config,
    save_model,
    save_optimizer,
)
from brain.config import HEAD_WIDTH
from brain.data import Mix, draw, forced_mask, manifest_hash, split_of, stream
from brain.engine import Engine
from brain.experts import (
    DEFAULT_ROUTER,
    MANIFEST,
    Expert,
    ExpertsError,
    Manifest,
    constants_hash,
    constants_of,
    dependencies,
    read_manifest,
    stale_experts,
    stale_models,
    write_manifest,
)
from brain.model import GPT, GPTConfig
from brain.muon import MuonAdamW
from brain.shards import ShardError, Split, envelope_of, load_manifest, routed, shard_batches
from brain.tokenizer import Roles, Tokenizer
from game.combat.envelope import Envelope, extent, widen
from game.combat.ruleset import Ruleset
from game.combat.sampler import SAMPLERS
from game.combat.state import ACTIONS


@dataclass(frozen=True)
class TrainConfig:
    depth: int = 4  # the size dials: layers, and
    width: int | None = None  # the model width (None: 32 x depth, the shipped models' shape)
    head_width: int = HEAD_WIDTH  # dims per attention head: width // head_width heads (a 2x32 at 16: two heads)
    batch_size: int = 64  # sequences per rank and step
    steps: int | None = None  # None: follows depth (bigger models train longer)
    lr: float = 3e-3
    warmup: int = 100
    min_lr_frac: float = 0.05
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    edge: float = 0.2  # Mix.edge
    easy_keep: float = 0.5  # Mix.easy_keep
    sampler: str = "wide"  # Mix.sampler, for the stream (shards name their own)
    block_size: int = 384
    rope: bool = True  # rotary positions; False: learned absolute positions
    roles: bool = True  # role embeddings (tokenizer.Roles)
    seed: int = 1337
    log_every: int = 25
    eval_every: int = 500
    ckpt_every: int = 500
    val_n: int = 200  # val blocks decoded for exact match at each eval
    val_loss_n: int = 512  # val blocks for the validation loss
    workers: int = 1  # processes drawing batches (0: inline)
    # one thread: on a shared 2-core machine two OpenMP threads stall whenever another process
    # holds a core (measured 5-8x slower steps, docs/history.md "Threads"); one thread + the batch worker fits.
    # The cpu preset takes both cores (1.7x on a quiet machine) and must run alone
    threads: int = 1
    init: str | None = None  # start from this model directory's weights (a second, lower-lr phase)
    init_layers: int = 0  # with init: keep its first this many blocks (a shallower expert from the single model)
    data: str | None = None  # token shards written by `rpg-brain gen`; None: draw from the rules stream
    bucket: int = 0  # shards only: sort each window of this many batches by length (Sampler; 0: random batches)
    optimizer: str = "adamw"  # "muon": Muon for the blocks' matrices, AdamW for the rest (brain/muon.py)
    muon_lr: float = 0.02  # peak lr of the Muon matrices (same schedule shape as lr)
    actions: tuple[str, ...] = ()  # an expert's route (brain/experts.py): only these actions' shard examples
    adapt: bool = False  # init from weights trained on another ruleset (retraining after a rule change)

    def __post_init__(self) -> None:
        if self.head_width < 2 or self.head_width % 2:
            raise ValueError(f"TrainConfig.head_width: {self.head_width}, expected an even number >= 2")
        if self.width is not None and (self.width < self.head_width or self.width % self.head_width):
            raise ValueError(f"TrainConfig.width: {self.width}, expected a positive multiple of {self.head_width} "
                             f"(heads are {self.head_width} wide)")

    def mix(self) -> Mix:
        return Mix(self.edge, self.easy_keep, self.sampler)

    def total_steps(self) -> int:
        return self.steps if self.steps is not None else 1500 * self.depth

    def model_config(self, vocab_size: int) -> GPTConfig:
        return GPTConfig.from_depth(self.depth, vocab_size, self.block_size, self.rope, self.roles, self.width,
                                    self.head_width)


PRESETS: dict[str, TrainConfig] = {
    "tiny": TrainConfig(depth=1, batch_size=8, steps=20, lr=3e-3, warmup=5, log_every=5, eval_every=10,
                        ckpt_every=10, val_n=8, val_loss_n=16, workers=0),
    # the stream (or --data) at batch 64 on one thread; what it reached on the narrow sampler: docs/history.md
    "default": TrainConfig(depth=2, batch_size=64, steps=5500, lr=3e-3, warmup=200),
    # the CPU recipe (scripts/cpu_preset.sh): `rpg-brain gen --out brain/data/cpu --n 1200000`, then 9,000 steps of
    # 128 (1.15M examples) from the shards with AdamW on two threads; --threads 1 when sharing the machine. On the
    # narrow sampler: 50.5 minutes with its data on a quiet 2-core machine, 99.75 / 100% held-out (docs/history.md);
    # on the wide one not yet measured
    "cpu": TrainConfig(depth=2, batch_size=128, steps=9_000, lr=3e-3, warmup=200, threads=2, workers=0,
                       eval_every=1000, ckpt_every=1000, data="brain/data/cpu"),
    # one GPU, minutes: `rpg-brain gen --out brain/data/gpu --n 2800000` first, then 5,000 steps of 512 from the
    # shards (2.56M examples; scripts/gpu_session.sh). On narrow sampler version 1 it was the shipped model's first
    # phase: 209 s on a lent H200, 100.00% iid / 100.00% edge held-out (docs/history.md); on the wide one not yet
    # measured
    "gpu": TrainConfig(depth=2, batch_size=512, steps=5_000, lr=3e-3, warmup=200, workers=0, eval_every=1000,
                       ckpt_every=1000, data="brain/data/gpu"),
    # a second phase on top of the default run: fresh batches (another seed), lower peak lr
    "long": TrainConfig(depth=2, batch_size=64, steps=4000, lr=1e-3, warmup=100, seed=1338, eval_every=1000,
                        ckpt_every=1000, init="brain/runs/default"),
}


# ---------------------------------------------------------------- batches

def encode_example(tok: Tokenizer, block: str, answer: str) -> tuple[list[int], list[int]]:
    """Token ids and targets (-1 where no loss: the prompt and forced answer tokens)."""
    prompt = [tok.bos, *tok.encode(block), tok.sep]
    ans = tok.encode(answer)
    forced = forced_mask([tok.pieces[i] for i in ans])
    ids = prompt + ans + [tok.eos]
    targets = [-1] * (len(prompt) - 1) + [-1 if f else t for t, f in zip([*ans, tok.eos], forced, strict=False)] + [-1]
    return ids, targets


def collate(rows: list[tuple[list[int], list[int]]], tok: Tokenizer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Right-padded ids, targets and roles (B, T, 4)."""
    T = max(len(ids) for ids, _ in rows)
    x = np.full((len(rows), T), tok.pad, dtype=np.int64)
    y = np.full((len(rows), T), -1, dtype=np.int64)
    r = np.zeros((len(rows), T, 4), dtype=np.int64)
    roles = Roles(tok)
    for i, (ids, tgt) in enumerate(rows):
        x[i, :len(ids)] = ids
        y[i, :len(tgt)] = tgt
        r[i, :len(ids)] = roles.of(ids)
    return x, y, r


_WORKER: dict = {}


def _init_worker(rules: dict, mix: dict, batch: int, seed: int, rank: int) -> None:
    _WORKER.update(rules=Ruleset(**rules), mix=Mix(**mix), batch=batch, seed=seed, rank=rank,
                   tok=Tokenizer.from_format())


def _batch(index: int) -> tuple[np.ndarray, np.ndarray]:
    w = _WORKER
    rng = random.Random(f"batch:{w['seed']}:{w['rank']}:{index}")
    rows = []
    while len(rows) < w["batch"]:
        ex = draw(rng, w["rules"], w["mix"])
        if split_of(ex.block) == "train":
            rows.append(encode_example(w["tok"], ex.block, ex.answer))
    return collate(rows, w["tok"])


def batches(tc: TrainConfig, rules: Ruleset, start: int, rank: int, world: int = 1, manifest: dict | None = None):
    """Batches start, start+1, ... of this rank: from the shards (their manifest, loaded here unless given), or
    drawn in a helper process (or inline)."""
    if tc.data:
        manifest = manifest or load_manifest(Path(tc.data), rules)
        split = routed(Split(Path(tc.data), "train", manifest), tc.actions)
        yield from prefetched(shard_batches(split, tc.batch_size, tc.seed, start, tc.total_steps(), rank, world,
                                            tc.bucket))
        return
    args = (asdict(rules), asdict(tc.mix()), tc.batch_size, tc.seed, rank)
    indices = range(start, tc.total_steps())
    if tc.workers == 0:
        _init_worker(*args)
        yield from map(_batch, indices)
        return
    # a bounded window ahead: Pool.imap would draw every batch up front and steal a core meanwhile
    with Pool(tc.workers, initializer=_init_worker, initargs=args) as pool:
        window: deque = deque()
        it = iter(indices)
        for i in it:
            window.append(pool.apply_async(_batch, (i,)))
            if len(window) >= 4 * tc.workers:
                break
        for i in it:
            yield window.popleft().get()
            window.append(pool.apply_async(_batch, (i,)))
        while window:
            yield window.popleft().get()


def prefetched(it: Iterator, ahead: int = 4) -> Iterator:
    """The items of `it` in order, made by a thread up to `ahead` items early.

    Gathering a shard batch is numpy work (~25 ms for 512 on one core, most of it outside the GIL), so on a GPU
    it overlaps the step instead of idling the device: measured in docs/history.md "The token data engine, measured"."""
    q: queue.Queue = queue.Queue(maxsize=ahead)
    done = object()
    stop = threading.Event()

    def fill() -> None:
        try:
            for item in it:
                if stop.is_set():
                    return
                q.put(item)
            q.put(done)
        except BaseException as e:  # raised again in the consumer, where it belongs
            q.put(e)

    t = threading.Thread(target=fill, daemon=True, name="batch-prefetch")
    t.start()
    try:
        while (item := q.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while not q.empty():  # unblock a put() so the thread sees `stop`
            q.get_nowait()


# ---------------------------------------------------------------- the envelope

STREAM_ENVELOPE_N = 20_000


def training_envelope(tc: TrainConfig, rules: Ruleset, manifest: dict | None = None) -> Envelope:
    """What this run trains on: the shards' envelope as gen measured it (the route's, for an expert), or for the
    stream the extent of as many draws as the run will see (at most STREAM_ENVELOPE_N), from its own sampler."""
    if tc.data:
        return envelope_of(manifest or load_manifest(Path(tc.data), rules), tc.actions)
    tok = Tokenizer.from_format()
    bounds: dict = {}
    longest = tokens = 0
    n = min(STREAM_ENVELOPE_N, tc.total_steps() * tc.batch_size)
    for ex, _ in zip(stream(tc.seed, "train", rules, tc.mix()), range(n), strict=False):
        widen(bounds, extent(ex.case))
        ids = tok.encode(ex.block)
        longest = max(longest, len(ids))
        tokens = max(tokens, len(ids) + len(tok.encode(ex.answer)) + 3)
    sampler = SAMPLERS[tc.sampler]
    return Envelope.measured(bounds, ACTIONS, longest, sampler.name, sampler.version, rules.ruleset_id, n,
                             tokens=tokens)


# ---------------------------------------------------------------- validation

def val_set(tc: TrainConfig, rules: Ruleset, n: int, manifest: dict | None = None) -> list[tuple[str, str]]:
    if tc.data:  # the first n of the data's val split (checked against the manifest like the train split)
        split = routed(Split(Path(tc.data), "val", manifest or load_manifest(Path(tc.data), rules)), tc.actions)
        if len(split) == 0:
            raise ShardError(f"{Path(tc.data) / 'manifest.json'}: the val split is empty (gen a larger --n)")
        return [split.text(k) for k in range(min(n, len(split)))]
    it = stream(tc.seed + 1, "val", rules, tc.mix())
    return [(ex.block, ex.answer) for ex, _ in zip(it, range(n), strict=False)]


@torch.no_grad()
def validate(model: GPT, tok: Tokenizer, val: list[tuple[str, str]], n_decode: int) -> dict:
    model.eval()
    dev = next(model.parameters()).device
    losses = []
    for i in range(0, len(val), 128):
        x, y, r = (torch.from_numpy(a).to(dev) for a in collate([encode_example(tok, b, a)
                                                                   for b, a in val[i:i + 128]], tok))
        losses.append(float(model.loss(x, y, r)))
    sample = val[:n_decode]
    engine = Engine(model, tok)
    got = []
    for i in range(0, len(sample), 100):
        got += engine.generate([b for b, _ in sample[i:i + 100]])
    exact = sum(g == a for g, (_, a) in zip(got, sample, strict=False))
    state = sum(g.split(" | ")[-1] == a.split(" | ")[-1] for g, (_, a) in zip(got, sample, strict=False))
    model.train()
    return {"val_loss": sum(losses) / len(losses), "val_exact": exact / max(1, len(sample)),
            "val_state_exact": state / max(1, len(sample))}


# ---------------------------------------------------------------- the loop

def lr_at(tc: TrainConfig, step: int) -> float:
    total = tc.total_steps()
    if step < tc.warmup:
        return tc.lr * (step + 1) / tc.warmup
    progress = min(1.0, (step - tc.warmup) / max(1, total - tc.warmup))
    return tc.lr * (tc.min_lr_frac + (1 - tc.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * progress)))


def make_optimizer(model: GPT, tc: TrainConfig) -> torch.optim.Optimizer:
    """AdamW, weight decay on matrices only; or Muon for the blocks' matrices (group lr = schedule x lr_scale)."""
    if tc.optimizer not in ("adamw", "muon"):
        raise ValueError(f"TrainConfig.optimizer: {tc.optimizer!r}, expected 'adamw' or 'muon'")
    muon = [p for n, p in model.named_parameters() if tc.optimizer == "muon" and n.startswith("blocks.")
            and p.dim() == 2]
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not any(p is q for q in muon)]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2]
    if muon:
        return MuonAdamW([{"params": muon, "muon": True, "lr_scale": tc.muon_lr / tc.lr},
                          {"params": decay, "weight_decay": tc.weight_decay}, {"params": rest}], lr=tc.lr)
    return torch.optim.AdamW([{"params": decay, "weight_decay": tc.weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=tc.lr, betas=(0.9, 0.95))


def train_step(model: torch.nn.Module, opt: torch.optim.Optimizer, tc: TrainConfig, step: int, x: torch.Tensor,
               y: torch.Tensor, r: torch.Tensor) -> tuple[torch.Tensor, float]:
    """One step of every training here (train, finetune, sweep): the lr of `step` on the schedule (each
    optimizer group at its lr_scale: Muon's matrices), forward, cross entropy on the open targets (y = -1 on the
    prompt and grammar-forced tokens), backward, clip, optimizer step. `model` may be DDP-wrapped.
    Returns the loss (detached) and the lr."""
    lr = lr_at(tc, step)
    for g in opt.param_groups:
        g["lr"] = lr * g.get("lr_scale", 1.0)
    loss = model(x, r, targets=y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
    opt.step()
    return loss.detach(), lr


TRIM_EVERY = 100  # steps between returns of freed heap memory to the OS (CPU runs)


def heap_trimmer() -> Callable[[], object] | None:
    """glibc's malloc_trim, or None off glibc.

    Batches change shape every step (each pads to its longest example, and the loss keeps a different number of
    tokens), so freed activations fragment glibc's heap: a CPU run of the wide envelope grew by ~2 MB a step
    (7.9 GB at step 3,900). Trimming every TRIM_EVERY steps keeps it under ~2.5 GB for about 5% of the step
    time; a fixed small mmap threshold also bounded it but made every step 1.7x slower."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def _fmt_time(s: float) -> str:
    s = int(s)
    return f"{s // 60}m{s % 60:02d}s"


@dataclass(frozen=True)
class Place:
    """Where this process trains: its device, and its rank among `world` processes (DDP under torchrun)."""

    device: torch.device
    rank: int = 0
    world: int = 1
    ddp: bool = False

    @property
    def master(self) -> bool:
        return self.rank == 0


def place(tc: TrainConfig) -> Place:
    """The device (CUDA when there is one) and, under torchrun, the process group (nccl on GPU, gloo on CPU)."""
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        device = torch.device("cpu")
        if torch.cuda.is_available():
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
            torch.cuda.set_device(device)
        where = Place(device, dist.get_rank(), dist.get_world_size(), ddp=True)
    else:
        where = Place(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    if where.device.type == "cpu":
        torch.set_num_threads(tc.threads)
    return where


def start(tc: TrainConfig, out: Path, rules: Ruleset, tok: Tokenizer, where: Place
          ) -> tuple[GPT, torch.optim.Optimizer]:
    """A fresh model (or one from `tc.init`, a second phase) and its optimizer; an empty log in `out`."""
    torch.manual_seed(tc.seed)
    if tc.init:
        model, _, _ = load_model(Path(tc.init), None if tc.adapt else rules.ruleset_id)
        if tc.init_layers:
            model = first_blocks(model, tc.init_layers, tc.init)
    else:
        model = GPT(tc.model_config(len(tok)))
    model.to(where.device).train()
    if where.master:
        out.mkdir(parents=True, exist_ok=True)
        (out / LOG).write_text("")
    return model, make_optimizer(model, tc)


def first_blocks(model: GPT, layers: int, where: str) -> GPT:
    """The model cut to its first `layers` blocks, with its embeddings and final norm: a shallower start than
    from scratch (the embeddings and the lower block already read the format)."""
    if not 0 < layers <= model.cfg.n_layer:
        raise ValueError(f"--init-layers {layers}: {where} has {model.cfg.n_layer} blocks; expected 1 to "
                         f"{model.cfg.n_layer}")
    short = GPT(replace(model.cfg, n_layer=layers))
    short.load_state_dict({k: v for k, v in model.state_dict().items()
                           if not k.startswith("blocks.") or int(k.split(".")[1]) < layers})
    return short


def recipe_of(out: Path, tc: TrainConfig, data: str | None = None) -> TrainConfig:
    """The recipe of the run in `out`, with this machine's helpers (workers, threads) and, when given, where its
    shards are on this machine (the manifest hash still has to match: train() checks it)."""
    saved = TrainConfig(**read_config(out)["train"]["config"])
    return replace(saved, workers=tc.workers, threads=tc.threads, actions=tuple(saved.actions),
                   data=data or saved.data)


def resume_run(tc: TrainConfig, out: Path, rules: Ruleset, where: Place) -> tuple[GPT, torch.optim.Optimizer, dict]:
    """The run in `out` at its last checkpoint: its model, optimizer and config.json; log rows past the
    checkpoint are dropped (they will be redone)."""
    model, _, config = load_model(out, rules.ruleset_id)
    model.to(where.device).train()
    opt = make_optimizer(model, tc)
    meta = load_optimizer(out, opt, model)
    step = config["train"]["step"]
    if meta["step"] != step:
        raise ModelLoadError(f"{out / OPTIM_JSON}: step {meta['step']} but {CONFIG} has {step} "
                             "(interrupted write); cannot resume")
    if where.master and (out / LOG).exists():
        kept = [line for line in (out / LOG).read_text().splitlines()
                if line.strip() and json.loads(line)["step"] <= step]
        (out / LOG).write_text("".join(line + "\n" for line in kept))
    return model, opt, config


def train(tc: TrainConfig, out: Path, rules: Ruleset, resume: bool = False, quiet: bool = False,
          until: int | None = None, stop: Callable[[dict], str | None] | None = None,
          data: str | None = None) -> dict:
    """Train into `out` (a model directory plus optimizer state and train_log.jsonl); returns the last log row.

    `until` stops early after that step, with a checkpoint (the schedule still runs to the full length).
    `data` (with `resume`): the run's shards are there, not at the path it recorded (a run carried to another
    machine). `stop` is asked at every log row (val_exact in it at eval steps): a reason ends the run there, with a
    checkpoint, and is written into the row as "stop" (brain/sweep.py's convergence sweep; not under DDP).
    """
    if stop is not None and "RANK" in os.environ:
        raise ValueError("train(stop=...) decides on rank 0 alone: not under DDP")
    if resume:
        tc = recipe_of(out, tc, data)
    if tc.actions and not tc.data:
        raise ShardError("an expert (TrainConfig.actions) trains from token shards: give --data")
    # the data first: foreign shards are refused before anything is built or written
    manifest = load_manifest(Path(tc.data), rules) if tc.data else None
    data_id = manifest_hash({k: v for k, v in manifest.items() if k != "gen"}) if manifest else None
    where = place(tc)
    log = (lambda *a: None) if quiet or not where.master else (lambda *a: print(*a, file=sys.stderr, flush=True))
    tok = Tokenizer.from_format()
    if resume:
        model, opt, config = resume_run(tc, out, rules, where)
        first = config["train"]["step"]
        if config["train"].get("data_manifest") != data_id:
            raise ShardError(f"{Path(tc.data) / 'manifest.json'}: not the data this run was trained on "
                             f"(manifest hash {data_id}, the checkpoint has {config['train'].get('data_manifest')})")
        envelope = model_envelope(config, out / CONFIG) or training_envelope(tc, rules, manifest)
    else:
        first = 0
        model, opt = start(tc, out, rules, tok, where)
        envelope = training_envelope(tc, rules, manifest)
    raw = model
    if where.ddp:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[where.device.index] if where.device.type == "cuda" else None)
    total = tc.total_steps()
    log(f"model: depth {raw.cfg.n_layer}, width {raw.cfg.n_embd}, {raw.cfg.n_head} heads, {raw.num_params():,} "
        f"params; {total} steps of {tc.batch_size}x{where.world} sequences on {where.device}"
        f"{' (DDP)' if where.ddp else ''}")
    val = val_set(tc, rules, max(tc.val_loss_n, tc.val_n), manifest) if where.master else []

    def checkpoint(step: int, row: dict) -> None:
        extra = {"train": {"config": asdict(tc), "step": step, "world": where.world, "last": row,
                           "data_manifest": data_id, "data_mix": manifest["mix"] if manifest else None},
                 "envelope": envelope.to_json()}
        save_optimizer(out, opt, raw, step, {})
        save_model(out, raw, tok, rules.ruleset_id, extra)

    trim = heap_trimmer() if where.device.type == "cpu" else None
    row: dict = {}
    t0 = last_t = time.time()
    tokens = last_tokens = 0
    reason = None
    for step, (x, y, r) in enumerate(batches(tc, rules, first, where.rank, where.world, manifest), start=first):
        x, y, r = (torch.from_numpy(a).to(where.device) for a in (x, y, r))
        loss, lr = train_step(model, opt, tc, step, x, y, r)
        tokens += x.numel() * where.world
        done = step + 1
        if trim is not None and done % TRIM_EVERY == 0:
            trim(0)
        if where.master and (done % tc.log_every == 0 or done in (total, until)):
            now = time.time()
            tps = (tokens - last_tokens) / max(1e-9, now - last_t)
            last_t, last_tokens = now, tokens
            row = {"step": done, "loss": round(loss.item(), 5), "lr": lr, "tok_s": round(tps),
                   "elapsed_s": round(now - t0, 1), "examples": done * tc.batch_size * where.world,
                   "tokens": tokens}
            if done % tc.eval_every == 0 or done in (total, until):
                row |= validate(raw, tok, val, tc.val_n)
            reason = stop(row) if stop is not None else None
            if reason:
                row["stop"] = reason
            with open(out / LOG, "a") as f:
                f.write(json.dumps(row) + "\n")
            extra = "".join(f" {k} {row[k]:.4f}" for k in ("val_loss", "val_exact") if k in row)
            log(f"step {done}/{total} loss {loss.item():.4f} lr {lr:.2e} tok/s {tps:,.0f} "
                f"eta {_fmt_time((total - done) * (now - t0) / (done - first))}{extra}")
        if where.master and (done % tc.ckpt_every == 0 or done in (total, until) or reason):
            checkpoint(done, row)
        if done == until or reason:
            break
    if not row and where.master and total <= first:
        # no step to take (--steps 0 --init MODEL): the run is the init's weights under this run's data and
        # envelope, e.g. an expert that starts as a copy of the single model
        row = {"step": first, "examples": 0, "tokens": 0, "elapsed_s": 0.0}
        checkpoint(first, row)
    if where.ddp:
        dist.barrier()
        dist.destroy_process_group()
    return row


# ---------------------------------------------------------------- experts

def train_expert(name: str, data: Path, directory: Path, rules: Ruleset, tc: TrainConfig, *, adapt: bool = False,
                 dep_n: int = 2000, quiet: bool = False) -> Expert:
    """Train (or, adapt=True, fine-tune from its own weights) one expert on its route's share of the shards,
    measure its constants under `rules`, and write it into the manifest."""
    directory = Path(directory)
    manifest = read_manifest(directory) if (directory / MANIFEST).exists() else Manifest(DEFAULT_ROUTER, {})
    if name not in manifest.router.routes:
        raise ExpertsError(f"unknown expert {name!r}; the router has {', '.join(manifest.router.routes)}")
    actions = manifest.router.routes[name]
    old = manifest.experts.get(name)
    model_dir = old.model_dir if old is not None else name
    out = directory / model_dir
    if adapt and old is None:
        raise ExpertsError(f"{directory / MANIFEST}: expert {name} has no weights to retrain from")
    tc = replace(tc, data=str(data), actions=actions, init=str(out) if adapt else tc.init, adapt=adapt or tc.adapt)
    t0 = time.time()
    row = train(tc, out, rules, quiet=quiet)
    seconds = time.time() - t0
    trained = {"steps": row.get("step"), "batch_size": tc.batch_size, "examples": row.get("examples"),
               "tokens": row.get("tokens"), "seconds": round(seconds, 2), "val_exact": row.get("val_exact"),
               "adapted": adapt}
    return record_expert(directory, name, model_dir, rules, trained, dep_n)


def record_expert(directory: Path, name: str, model_dir: str, rules: Ruleset, trained: dict,
                  dep_n: int = 2000) -> Expert:
    """Write an expert whose weights are in place into the manifest, with the rule constants its route depends
    on measured under `rules` (what makes it stale when they change)."""
    manifest = read_manifest(directory) if (directory / MANIFEST).exists() else Manifest(DEFAULT_ROUTER, {})
    actions = manifest.router.routes[name]
    constants = constants_of(rules, dependencies(actions, rules, n=dep_n))
    expert = Expert(name, actions, model_dir, constants, constants_hash(constants), rules.ruleset_id, trained)
    write_manifest(directory, Manifest(manifest.router, {**manifest.experts, name: expert}))
    return expert


def train_stale(data: Path, directory: Path, rules: Ruleset, tc: TrainConfig, dep_n: int = 2000,
                quiet: bool = False) -> dict[str, Expert]:
    """Retrain, from their own weights, exactly the stale experts: those whose constants the content changed
    and those whose data another version of their sampler drew."""
    manifest = read_manifest(directory)
    stale = {*stale_experts(manifest, rules), *stale_models(directory, manifest)}
    return {name: train_expert(name, data, directory, rules, tc, adapt=True, dep_n=dep_n, quiet=quiet)
            for name in manifest.experts if name in stale}



# ---------------------------------------------------------------- the `rpg-brain train` stage

def add_arguments(t: argparse.ArgumentParser) -> None:
    t.add_argument("--preset", choices=tuple(PRESETS), default="default")
    t.add_argument("--out", type=Path, default=None, help="run directory (default brain/runs/PRESET)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.add_argument("--data", type=Path, default=None,
                   help="token shards written by `rpg-brain gen` (default: draw batches from the rules)")
    t.add_argument("--init", type=Path, default=None,
                   help="start from this model directory's weights (a second phase; experts from the single model)")
    t.add_argument("--init-layers", type=int, default=None,
                   help="with --init: keep only its first N blocks (a shallower model started from a deeper one)")
    t.add_argument("--depth", type=int)
    t.add_argument("--width", type=int, help="model width, a multiple of the head width (default 32 x depth)")
    t.add_argument("--head-width", type=int, help="dims per attention head (default 32; width // head width heads)")
    t.add_argument("--steps", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--warmup", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--seed", type=int)
    t.add_argument("--eval-every", type=int)
    t.add_argument("--rope", action=argparse.BooleanOptionalAction, default=None,
                   help="rotary positions (default) or learned absolute positions (--no-rope)")
    t.add_argument("--roles", action=argparse.BooleanOptionalAction, default=None,
                   help="role embeddings (default) or none (--no-roles)")
    t.add_argument("--optimizer", choices=("adamw", "muon"), help="muon: Muon for the matrices, AdamW for the rest")
    t.add_argument("--muon-lr", type=float, help="peak lr of the Muon matrices")
    t.add_argument("--workers", type=int, help="batch-drawing processes (0: inline)")
    t.add_argument("--threads", type=int, help="torch CPU threads (default: the preset's)")
    t.add_argument("--bucket", type=int, help="sort each window of this many shard batches by length (0: random)")
    t.add_argument("--expert", help="train one expert (brain/experts.py: strikes, self, ignite) on its route's "
                   "share of --data, into --experts DIR, and update its manifest")
    t.add_argument("--stale", action="store_true",
                   help="retrain, from their own weights, only the experts the content made stale")
    t.add_argument("--experts", type=Path, default=None, help="experts directory (default: brain/models/experts)")
    t.add_argument("--dep-n", type=int, default=2000,
                   help="sampled blocks per route when measuring an expert's rule constants")


def run(args: argparse.Namespace) -> int:
    from game.content import load_ruleset

    tc = PRESETS[args.preset]
    keys = ("depth", "width", "head_width", "steps", "lr", "batch_size", "seed", "workers", "threads", "eval_every",
            "warmup", "rope", "roles", "optimizer", "muon_lr", "bucket", "init_layers")
    overrides = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    if args.data is not None:
        overrides["data"] = str(args.data)
    if args.init is not None:
        overrides["init"] = str(args.init)
    tc = replace(tc, **overrides)
    if args.expert or args.stale:
        return _train_experts(args, tc)
    out = args.out or Path("brain/runs") / args.preset
    if args.preset == "gpu" and not torch.cuda.is_available():
        print("rpg-brain: --preset gpu without a GPU: 5,000 steps of 512 take hours on a CPU (--preset cpu is the "
              "CPU recipe)", file=sys.stderr)
    row = train(tc, out, load_ruleset(args.content), resume=args.resume,
                data=str(args.data) if args.data is not None else None)  # ModelLoadError, ShardError: the cli
    print(json.dumps(row))
    return 0


def _train_experts(args: argparse.Namespace, tc: TrainConfig) -> int:
    """`train --expert NAME` (one expert on its route's share of --data) or `train --stale` (every stale one)."""
    from brain.paths import shipped_experts_dir
    from game.content import load_ruleset

    if args.data is None:
        raise ValueError("--expert and --stale train from token shards: give --data DIR (rpg-brain gen)")
    directory = args.experts or shipped_experts_dir()
    rules = load_ruleset(args.content)
    if args.stale:
        done = train_stale(args.data, directory, rules, tc, dep_n=args.dep_n)
    else:
        done = {args.expert: train_expert(args.expert, args.data, directory, rules, tc, dep_n=args.dep_n)}
    print(json.dumps({"experts": str(directory), "trained": {k: {"constants": e.constants, **e.trained}
                                                             for k, e in done.items()}}))
    return 0
