"""The model: a small GPT (nanoGPT-style), one size dial.

`GPTConfig.from_depth(depth)` sets everything from the number of layers: width 32*depth,
heads of 32 dims, as nanochat derives its model from --depth. The config lives in
brain/config.py, without torch, because play reads it with numpy alone.
Inference uses a static, preallocated KV cache (`KVCache`) and per-row
positions, so a batch of prompts of different lengths decodes in lockstep.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from brain.config import GPTConfig

__all__ = ["GPT", "GPTConfig", "KVCache"]


class KVCache:
    """Keys and values of every layer for B rows and up to T positions, allocated once."""

    def __init__(self, cfg: GPTConfig, batch: int, length: int, device=None, dtype=torch.float32) -> None:
        hd = cfg.n_embd // cfg.n_head
        self.k = torch.zeros(cfg.n_layer, batch, cfg.n_head, length, hd, device=device, dtype=dtype)
        self.v = torch.zeros_like(self.k)
        self.valid = torch.zeros(batch, length, dtype=torch.bool, device=device)  # keys a query may see
        self.pos = 0  # next free slot (shared by all rows)


def rotary(pos: torch.Tensor, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin (B, 1, T, head_dim/2) for positions (B, T)."""
    inv = 1.0 / (10000 ** (torch.arange(0, head_dim, 2, device=pos.device, dtype=torch.float32) / head_dim))
    angles = pos.to(torch.float32).unsqueeze(-1) * inv
    return angles.cos().unsqueeze(1), angles.sin().unsqueeze(1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=-1)
    return torch.cat((a * cos - b * sin, a * sin + b * cos), dim=-1)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig, layer: int) -> None:
        super().__init__()
        self.n_head, self.layer = cfg.n_head, layer
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=False)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None, cache: KVCache | None,
                rot: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if rot is not None:
            q, k = apply_rotary(q, *rot), apply_rotary(k, *rot)
        if cache is None:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None)
        else:
            p = cache.pos
            cache.k[self.layer, :, :, p:p + T] = k
            cache.v[self.layer, :, :, p:p + T] = v
            y = F.scaled_dot_product_attention(q, cache.k[self.layer, :, :, :p + T],
                                               cache.v[self.layer, :, :, :p + T], attn_mask=mask)
        return self.proj(y.transpose(1, 2).contiguous().view(B, T, C))

    def packed(self, x: torch.Tensor, flat: torch.Tensor, B: int, T: int,
               rot: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        """forward() for the N kept tokens (N, C) of a (B, T) grid (`flat`: their places in it, row-major).

        Projections and rotary run on the N tokens; only attention itself sees the grid, where every dropped
        place holds zeros. Places are dropped only after a row's last kept token, so under the causal mask no
        kept token attends to one."""
        N, C = x.shape
        H = self.n_head
        q, k, v = self.qkv(x).view(N, 3, H, C // H).unbind(1)
        if rot is not None:
            q, k = apply_rotary(q, *rot), apply_rotary(k, *rot)
        grid = x.new_zeros(B * T, 3, H, C // H).index_copy(0, flat, torch.stack((q, k, v), 1))
        q, k, v = grid.view(B, T, 3, H, C // H).permute(2, 0, 3, 1, 4).unbind(0)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(B * T, C)[flat])


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig, layer: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg, layer)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=False)
        self.out = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=False)

    def forward(self, x, mask, cache, rot):
        x = x + self.attn(self.ln1(x), mask, cache, rot)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))

    def packed(self, x: torch.Tensor, flat: torch.Tensor, B: int, T: int,
               rot: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        x = x + self.attn.packed(self.ln1(x), flat, B, T, rot)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = None if cfg.rope else nn.Embedding(cfg.block_size, cfg.n_embd)
        if cfg.roles:  # segment, side, field word, offset (see tokenizer.Roles)
            self.role_emb = nn.ModuleList(nn.Embedding(n, cfg.n_embd) for n in (3, 3, cfg.vocab_size, 8))
        self.blocks = nn.ModuleList(Block(cfg, i) for i in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2: scale the residual projections by depth
            if name.endswith(("attn.proj.weight", "out.weight")):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _embed(self, idx: torch.Tensor, roles: torch.Tensor | None) -> torch.Tensor:
        """Token plus role embeddings for tokens of any shape (roles: the same shape plus 4)."""
        x = self.wte(idx)
        if self.cfg.roles:
            if roles is None:
                raise ValueError("this model reads token roles (tokenizer.Roles); pass roles")
            for i, emb in enumerate(self.role_emb):
                x = x + emb(roles[..., i])
        return x

    def forward(self, idx: torch.Tensor, roles: torch.Tensor | None = None, pos: torch.Tensor | None = None,
                mask: torch.Tensor | None = None, cache: KVCache | None = None,
                targets: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (B, T, vocab) for tokens idx and their roles (B, T, 4); the head is tied to the embedding.
        With targets: the training loss instead (loss(); through forward so that DDP sees the call)."""
        if targets is not None:
            return self.loss(idx, targets, roles)
        B, T = idx.shape
        if pos is None:
            pos = torch.arange(T, device=idx.device).expand(B, T)
        x = self._embed(idx, roles)
        rot = None
        if self.wpe is not None:
            x = x + self.wpe(pos)
        else:
            rot = rotary(pos, self.cfg.n_embd // self.cfg.n_head)
        for block in self.blocks:
            x = block(x, mask, cache, rot)
        if cache is not None:
            cache.pos += T
        return F.linear(self.ln_f(x), self.wte.weight)

    def loss(self, idx: torch.Tensor, targets: torch.Tensor, roles: torch.Tensor | None = None) -> torch.Tensor:
        """Mean cross entropy over targets != -1 (the answer tokens the grammar leaves open).

        Computed on the tokens that can reach a target: under the causal mask a row's tokens after its last
        target (its right padding, its end token) change no loss, so they are dropped before every per-token
        layer, and the head runs only where there is a target. The same loss as the logits of forward() give,
        for 10-19% less step time on random batches of 128 (scripts/bench_step.py, docs/history.md)."""
        B, T = idx.shape
        steps = torch.arange(T, device=idx.device)
        last = torch.where(targets != -1, steps, -1).amax(1)  # each row's last target place (-1: none)
        T = max(1, int(last.max()) + 1)
        idx, targets, steps = idx[:, :T], targets[:, :T], steps[:T]
        flat = (steps <= last[:, None]).reshape(-1).nonzero().squeeze(1)  # the kept places, row-major
        pos = steps.repeat(B)[flat]
        x = self._embed(idx.reshape(-1)[flat], None if roles is None else roles[:, :T].reshape(B * T, -1)[flat])
        rot = None
        if self.wpe is not None:
            x = x + self.wpe(pos)
        else:
            cos, sin = rotary(pos.unsqueeze(0), self.cfg.n_embd // self.cfg.n_head)  # (1, 1, N, hd/2)
            rot = cos[0, 0].unsqueeze(1), sin[0, 0].unsqueeze(1)  # (N, 1, hd/2): broadcast over the heads
        for block in self.blocks:
            x = block.packed(x, flat, B, T, rot)
        y = targets.reshape(-1)[flat]
        open_ = y != -1
        return F.cross_entropy(F.linear(self.ln_f(x[open_]), self.wte.weight), y[open_])


def from_arrays(cfg: GPTConfig, arrays: dict) -> GPT:
    """A GPT holding checked numpy weights (brain/checkpoint.load_weights), in eval mode."""
    model = GPT(cfg)
    model.load_state_dict({k: torch.from_numpy(v.astype("float32", copy=True)) for k, v in arrays.items()})
    return model.eval()
