"""The torch side of decoding: the torch batch-1 decoder and lockstep batches (training, eval, GPU).

Imported by brain/engine.py only when a batch of several blocks is decoded or the torch decoder is
asked for, and only where torch is installed; play never comes here. Batches decode in lockstep
with left-padded prompts and per-row positions over one static KV cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from brain.config import RESERVE
from brain.model import GPT, KVCache
from game.combat.format import END, answer_grammar

if TYPE_CHECKING:
    from brain.engine import Engine


class TorchDecoder:
    """The model itself behind the batch-1 decoder interface (new_cache, forward): the GPU path."""

    name = "torch"

    def __init__(self, model: GPT) -> None:
        self.model = model
        self.device = next(model.parameters()).device

    def new_cache(self) -> KVCache:
        return KVCache(self.model.cfg, 1, self.model.cfg.block_size, self.device)

    def forward(self, ids: list[int], roles: list[tuple[int, int, int, int]], cache: KVCache) -> np.ndarray:
        """Logits (vocab,) after the last of `ids`; the cache advances by len(ids)."""
        return self.forward_all(ids, roles, cache)[-1]

    @torch.inference_mode()
    def forward_all(self, ids: list[int], roles: list[tuple[int, int, int, int]], cache: KVCache) -> np.ndarray:
        """Logits (len(ids), vocab) after each of `ids`."""
        p, n, dev = cache.pos, len(ids), self.device
        pos = torch.arange(p, p + n, device=dev).unsqueeze(0)
        mask = torch.ones(n, p + n, dtype=torch.bool, device=dev).tril(p).view(1, 1, n, p + n)
        logits = self.model(torch.tensor([ids], device=dev), torch.tensor([roles], device=dev), pos, mask, cache)
        return logits[0].float().cpu().numpy()

    @staticmethod
    def truncate(cache: KVCache, length: int) -> None:
        """Forget every cached position from `length` on (rejected draft tokens)."""
        cache.pos = min(cache.pos, length)


_MASKS: dict[tuple[int, frozenset[str], str], torch.Tensor] = {}


def token_mask(engine: Engine, allowed: frozenset[str], device: torch.device) -> torch.Tensor:
    """A boolean mask over the vocabulary of the grammar tokens in `allowed` (cached)."""
    key = (len(engine.tok), allowed, str(device))
    m = _MASKS.get(key)
    if m is None:
        m = torch.zeros(len(engine.tok), dtype=torch.bool, device=device)
        m[[engine.tok.id_of(p) for p in allowed]] = True
        _MASKS[key] = m
    return m


@torch.inference_mode()
def generate_lockstep(engine: Engine, blocks: Sequence[str]) -> list[str]:
    """Greedy constrained answers for several input blocks at once."""
    model = engine.model
    tok, dev, T = engine.tok, next(model.parameters()).device, engine.cfg.block_size
    prompts = [engine.prompt(b) for b in blocks]
    B, P = len(prompts), max(len(p) for p in prompts)
    if P + RESERVE >= T:
        raise ValueError(f"an input block of {P} tokens does not fit the model's {T}")
    pads = [P - len(p) for p in prompts]
    pad = torch.tensor(pads, device=dev)
    x = torch.tensor([[tok.pad] * (P - len(p)) + p for p in prompts], device=dev)
    states = [engine.roles.start() for _ in prompts]
    roles = torch.tensor([[(0, 0, 0, 0)] * (P - len(p)) + [engine.roles.step(s, t) for t in p]
                          for s, p in zip(states, prompts, strict=True)], device=dev)
    pos = (torch.arange(P, device=dev).unsqueeze(0) - pad.unsqueeze(1)).clamp(min=0)
    cache = KVCache(model.cfg, B, T, dev)
    cache.valid[:, :P] = torch.arange(P, device=dev).unsqueeze(0) >= pad.unsqueeze(1)  # pads are never seen
    causal = torch.ones(P, P, dtype=torch.bool, device=dev).tril()
    mask = (causal.unsqueeze(0) & cache.valid[:, None, :P]).unsqueeze(1)
    mask |= torch.eye(P, dtype=torch.bool, device=dev)  # a pad row attends to itself: no NaN
    logits = model(x, roles, pos, mask, cache)[:, -1]
    grammars = [answer_grammar() for _ in range(B)]
    allowed = [next(g) for g in grammars]
    out: list[list[str]] = [[] for _ in range(B)]
    done = [False] * B
    next_pos = pos[:, -1] + 1
    while cache.pos < T:
        allowed = [engine._room(a, cache.pos - pads[i]) for i, a in enumerate(allowed)]
        masks = torch.stack([token_mask(engine, a, dev) for a in allowed])
        best = logits.masked_fill(~masks, float("-inf")).argmax(-1).tolist()
        step = []
        for i in range(B):
            if done[i]:
                step.append(tok.pad)
                continue
            piece = END if best[i] == tok.eos else tok.pieces[best[i]]
            if piece == END:
                done[i] = True
            else:
                out[i].append(piece)
                allowed[i] = grammars[i].send(piece)
            step.append(best[i])
        if all(done) or cache.pos >= T:
            break
        cache.valid[:, cache.pos] = True
        mask = cache.valid[:, None, None, :cache.pos + 1]
        roles = torch.tensor([[engine.roles.step(s, t)] for s, t in zip(states, step, strict=True)], device=dev)
        logits = model(torch.tensor(step, device=dev).unsqueeze(1), roles, next_pos.unsqueeze(1), mask,
                       cache)[:, -1]
        next_pos = (next_pos + 1).clamp(max=T - 1)
    return ["".join(o) for o in out]
