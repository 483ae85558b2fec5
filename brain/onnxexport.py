"""Exporting the ONNX step graph (torch, onnx and onnxscript: the `train` extra).

StepGraph is model.py's forward for one chunk of tokens over a growing KV cache: inputs ids (1, n),
roles (1, n, 4), past_k and past_v (layers, heads, p, head_dim); outputs the logits after the last
token and the cache with the chunk appended. `write_onnx` records the weights' sha256 in the graph's
metadata; brain/onnxform.py checks it, and the rest of the graph, before the game uses it.
"""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from brain.checkpoint import load_model
from brain.model import GPT
from brain.onnxform import HASH_KEY, ONNX_FILE
from game.atomic import write_atomic


class StepGraph(nn.Module):
    """GPT.forward for one chunk over a concatenated KV cache, written for a short ONNX graph.

    Same math as model.py, arranged for fewer graph nodes (each costs ORT ~2 us at this size): rotary
    as x * cos + (x @ half_turn) * sin from position tables, one additive mask per step shared by the
    layers, attention written out instead of scaled_dot_product_attention (whose export adds NaN guards).
    """

    def __init__(self, model: GPT) -> None:
        super().__init__()
        if model.wpe is not None or not model.cfg.roles:
            raise ValueError("the ONNX step graph covers rotary models with role embeddings (the shipped kind)")
        self.model = model.eval()
        cfg = model.cfg
        hd = cfg.n_embd // cfg.n_head
        half = hd // 2
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))  # as model.rotary
        angles = torch.arange(cfg.block_size, dtype=torch.float32)[:, None] * inv[None, :]
        self.register_buffer("cos", torch.cat([angles.cos(), angles.cos()], -1))
        self.register_buffer("sin", torch.cat([angles.sin(), angles.sin()], -1))
        turn = torch.zeros(hd, hd)
        i = torch.arange(half)
        turn[i + half, i], turn[i, i + half] = -1.0, 1.0  # (a, b) @ turn == (-b, a)
        self.register_buffer("half_turn", turn)

    def forward(self, ids, roles, past_k, past_v):
        m, cfg = self.model, self.model.cfg
        n, p = ids.shape[1], past_k.shape[2]
        C, H = cfg.n_embd, cfg.n_head
        hd = C // H
        x = m.wte(ids[0])
        for i, emb in enumerate(m.role_emb):
            x = x + emb(roles[0, :, i])
        cos, sin = self.cos[p:p + n], self.sin[p:p + n]
        future = torch.arange(p + n).unsqueeze(0) > (torch.arange(n) + p).unsqueeze(1)
        mask = torch.zeros(n, p + n).masked_fill(future, float("-inf"))
        keys, values = [], []
        for layer, block in enumerate(m.blocks):
            qkv = block.attn.qkv(block.ln1(x))
            qk = qkv[:, :2 * C].reshape(n, 2 * H, hd).transpose(0, 1)
            qk = qk * cos + (qk @ self.half_turn) * sin
            q, k = qk[:H], qk[H:]
            v = qkv[:, 2 * C:].reshape(n, H, hd).transpose(0, 1)
            k = torch.cat([past_k[layer], k], dim=1)
            v = torch.cat([past_v[layer], v], dim=1)
            keys.append(k)
            values.append(v)
            att = torch.softmax((q @ k.transpose(1, 2)) * (1.0 / math.sqrt(hd)) + mask, -1)
            x = x + block.attn.proj((att @ v).transpose(0, 1).reshape(n, C))
            x = x + block.out(F.gelu(block.fc(block.ln2(x))))
        # logits after every token of the chunk: one call verifies a drafted answer (brain/draft.py)
        return F.linear(m.ln_f(x), m.wte.weight), torch.stack(keys), torch.stack(values)



def write_onnx(model: GPT, weights_sha256: str, path: Path) -> Path:
    """Export the step graph (dynamic chunk and cache lengths) with the weights' hash in its metadata."""
    import onnx
    from torch.export import Dim

    cfg = model.cfg
    hd = cfg.n_embd // cfg.n_head
    ids = torch.tensor([[1, 4, 5]])
    roles = torch.zeros(1, 3, 4, dtype=torch.long)
    past = torch.zeros(cfg.n_layer, cfg.n_head, 2, hd)
    n, p = Dim("n", min=1, max=cfg.block_size), Dim("p", min=0, max=cfg.block_size - 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on torchvision and axis names
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        program = torch.onnx.export(StepGraph(model).eval(), (ids, roles, past, past.clone()), dynamo=True,
                                    optimize=True, input_names=["ids", "roles", "past_k", "past_v"],
                                    output_names=["logits", "k", "v"],
                                    dynamic_shapes=({1: n}, {1: n}, {2: p}, {2: p}), verbose=False)
    proto = program.model_proto
    onnx.helper.set_model_props(proto, {HASH_KEY: weights_sha256})
    write_atomic(path, proto.SerializeToString())
    return path



def refresh_onnx(model_dir: Path) -> str:
    """Write model_dir/model.onnx for the weights there (a stale graph goes first); says what happened."""
    path = Path(model_dir) / ONNX_FILE
    path.unlink(missing_ok=True)
    try:
        model, _, config = load_model(Path(model_dir))
        write_onnx(model, config["weights_sha256"], path)
    except ImportError as exc:
        return f"{ONNX_FILE} not written ({exc}; pip install -e '.[onnx]'): the game will decode with numpy"
    return f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)"
