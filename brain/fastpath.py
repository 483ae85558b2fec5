"""Batch-1 decoding in numpy: the same GPT forward as brain/model.py, without torch's per-op cost.

At batch 1 a step of this model is ~60 tiny operations; torch spends several
microseconds of dispatch on each, numpy about one. `rpg-brain bench` measures
both side by side. The math is model.py's, in float32: LayerNorm (eps 1e-5),
rotary or learned positions, role embeddings, causal attention over a
preallocated KV cache, exact (erf) GELU, tied output head.
"""

from __future__ import annotations

import math

import numpy as np
from threadpoolctl import threadpool_limits

from brain.config import GPTConfig

_EPS = 1e-5


def single_thread_blas() -> None:
    """Ask numpy's BLAS for one thread.

    Its worker threads spin while they wait; on a busy 2-core machine that made
    batch-1 decoding 2-3x slower (docs/history.md). OPENBLAS_NUM_THREADS only works
    before numpy loads, which the game does not control, so threadpoolctl asks the
    loaded library directly (for the whole process: the game decodes one turn at a time).
    """
    threadpool_limits(limits=1, user_api="blas")


def _gelu(h: np.ndarray) -> np.ndarray:
    """Exact GELU, 0.5 h (1 + erf(h / sqrt 2)), with erf from Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7)."""
    x = h * np.float32(0.70710678)
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * z)
    erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erfc *= np.exp(-z * z)
    return 0.5 * h * (1.0 + np.copysign(1.0 - erfc, x))


def _layernorm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = x - x.sum(-1, keepdims=True) * np.float32(1.0 / x.shape[-1])
    return d * (1.0 / np.sqrt(np.einsum("...i,...i->...", d, d)[..., None] * np.float32(1.0 / x.shape[-1]) + _EPS)) \
        * w + b


class NumpyDecoder:
    """Holds the weights as float32 arrays; `forward` feeds a chunk of tokens into a cache."""

    name = "numpy"

    def __init__(self, cfg: GPTConfig, arrays: dict[str, np.ndarray]) -> None:
        """cfg and the arrays brain/checkpoint.load_weights checked (or a torch model's state dict as numpy)."""
        single_thread_blas()
        self.cfg = cfg
        sd = {k: np.asarray(v, np.float32) for k, v in arrays.items()}
        self.wte = sd["wte.weight"]
        self.wpe = sd.get("wpe.weight")
        self.roles = [sd[f"role_emb.{i}.weight"] for i in range(4)] if cfg.roles else []
        self.layers = []
        for i in range(cfg.n_layer):
            p = f"blocks.{i}."
            self.layers.append(tuple(sd[p + k] for k in (
                "ln1.weight", "ln1.bias", "attn.qkv.weight", "attn.proj.weight",
                "ln2.weight", "ln2.bias", "fc.weight", "out.weight")))
        self.layers = [(a, b, qkv.T.copy(), proj.T.copy(), c, d, fc.T.copy(), out.T.copy())
                       for a, b, qkv, proj, c, d, fc, out in self.layers]
        self.lnf = (sd["ln_f.weight"], sd["ln_f.bias"])
        self.H = cfg.n_head
        self.hd = cfg.n_embd // cfg.n_head
        half = self.hd // 2
        inv = 1.0 / (10000 ** (np.arange(0, self.hd, 2, dtype=np.float32) / self.hd))
        angles = np.arange(cfg.block_size, dtype=np.float32)[:, None] * inv[None, :]
        cos, sin = np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)
        # rotary as one matrix per position: x @ rot[p] == model.apply_rotary(x) (halves a, b)
        self.rot = np.zeros((cfg.block_size, self.hd, self.hd), np.float32)
        i = np.arange(half)
        self.rot[:, i, i] = cos
        self.rot[:, i + half, i + half] = cos
        self.rot[:, i + half, i] = -sin
        self.rot[:, i, i + half] = sin
        self.scale = np.float32(1.0 / math.sqrt(self.hd))

    def new_cache(self) -> list:
        shape = (self.cfg.n_layer, self.H, self.cfg.block_size, self.hd)
        return [np.zeros(shape, np.float32), np.zeros(shape, np.float32), 0]

    def forward(self, ids: list[int], roles: list[tuple[int, int, int, int]], cache: list) -> np.ndarray:
        """Logits (vocab,) after the last of `ids`; the cache advances by len(ids)."""
        return self._run(ids, roles, cache, every=False)

    def forward_all(self, ids: list[int], roles: list[tuple[int, int, int, int]], cache: list) -> np.ndarray:
        """Logits (len(ids), vocab) after each of `ids` (one pass verifies a drafted answer)."""
        return self._run(ids, roles, cache, every=True)

    @staticmethod
    def truncate(cache: list, length: int) -> None:
        """Forget every cached position from `length` on (rejected draft tokens)."""
        cache[2] = min(cache[2], length)

    def _run(self, ids: list[int], roles: list[tuple[int, int, int, int]], cache: list, every: bool) -> np.ndarray:
        K, V, p = cache
        n = len(ids)
        x = self.wte[ids]
        for table, col in zip(self.roles, zip(*roles, strict=True), strict=False):
            x = x + table[list(col)]
        if self.wpe is not None:
            x = x + self.wpe[p:p + n]
        else:
            rot = self.rot[p:p + n]  # (n, hd, hd)
        C, H, hd = self.cfg.n_embd, self.H, self.hd
        mask = None
        if n > 1:
            mask = np.triu(np.full((n, p + n), -np.inf, np.float32), k=p + 1)
        for li, (w1, b1, qkv_w, proj_w, w2, b2, fc_w, out_w) in enumerate(self.layers):
            qkv = _layernorm(x, w1, b1) @ qkv_w
            qk = qkv[:, :2 * C].reshape(n, 2 * H, 1, hd)
            if self.wpe is None:
                qk = qk @ rot[:, None]  # (n, 2H, 1, hd) @ (n, 1, hd, hd)
            qk = qk.reshape(n, 2 * H, hd).transpose(1, 0, 2)
            q, k = qk[:H], qk[H:]
            v = qkv[:, 2 * C:].reshape(n, H, hd).transpose(1, 0, 2)
            K[li, :, p:p + n] = k
            V[li, :, p:p + n] = v
            att = (q @ K[li, :, :p + n].transpose(0, 2, 1)) * self.scale
            if mask is not None:
                att = att + mask
            att = np.exp(att - att.max(-1, keepdims=True))
            att *= 1.0 / att.sum(-1, keepdims=True)
            y = (att @ V[li, :, :p + n]).transpose(1, 0, 2).reshape(n, C)
            x = x + y @ proj_w
            h = _layernorm(x, w2, b2) @ fc_w
            x = x + _gelu(h) @ out_w
        cache[2] = p + n
        if every:
            return _layernorm(x, *self.lnf) @ self.wte.T
        return self.wte @ _layernorm(x[-1], *self.lnf)
