"""The ONNX form: one decode step as an ONNX graph, run by ONNX Runtime at batch 1.

At batch 1 a step of the shipped model is ~60 tiny operations; numpy (brain/fastpath.py) pays Python's
cost on each, ONNX Runtime runs the whole step as one fused call. The graph is model.py's forward for a
chunk of tokens over a growing KV cache: inputs ids (1, n), roles (1, n, 4), past_k and past_v
(layers, heads, p, head_dim); outputs the logits after the last token and the cache with the chunk
appended. Positions are p..p+n-1, so the same graph feeds a prompt, a fast-forwarded run of forced
tokens, or one chosen token.

`model.onnx` sits beside model.safetensors and records that file's sha256 in its metadata; a graph whose
hash does not match the weights (a retrained model, a stale copy) is not used. Exporting needs
`onnx` and `onnxscript`; running needs only `onnxruntime` (`pip install -e '.[onnx]'`). Without it the
game decodes with numpy, as before.
"""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from brain.checkpoint import ModelLoadError, load_model, read_config
from brain.model import GPT

ONNX_FILE = "model.onnx"
_HASH_KEY = "weights_sha256"


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
        return F.linear(m.ln_f(x[-1]), m.wte.weight), torch.stack(keys), torch.stack(values)


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
    tmp = path.with_name(path.name + ".tmp")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on torchvision and axis names
        logging.getLogger("torch.onnx").setLevel(logging.ERROR)
        program = torch.onnx.export(StepGraph(model).eval(), (ids, roles, past, past.clone()), dynamo=True,
                                    optimize=True, input_names=["ids", "roles", "past_k", "past_v"],
                                    output_names=["logits", "k", "v"],
                                    dynamic_shapes=({1: n}, {1: n}, {2: p}, {2: p}), verbose=False)
    proto = program.model_proto
    onnx.helper.set_model_props(proto, {_HASH_KEY: weights_sha256})
    onnx.save(proto, str(tmp))
    tmp.replace(path)
    return path


class OrtDecoder:
    """NumpyDecoder's interface (new_cache, forward) over an ONNX Runtime session, one thread."""

    name = "onnx"

    def __init__(self, path: Path, weights_sha256: str) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelLoadError("onnxruntime is not installed (pip install -e '.[onnx]')") from exc
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for unreadable or invalid graphs
            raise ModelLoadError(f"{path}: not a usable ONNX graph ({exc})") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        if meta.get(_HASH_KEY) != weights_sha256:
            raise ModelLoadError(f"{path}: exported from other weights (sha256 {meta.get(_HASH_KEY, 'missing')[:12]}, "
                                 f"model.safetensors is {weights_sha256[:12]}); re-export with `rpg-brain export`")
        inputs = {i.name: i.shape for i in self.session.get_inputs()}
        if set(inputs) != {"ids", "roles", "past_k", "past_v"}:
            raise ModelLoadError(f"{path}: inputs {sorted(inputs)}, expected ids, roles, past_k, past_v")
        layers, heads, _, hd = inputs["past_k"]
        self.empty = np.zeros((layers, heads, 0, hd), np.float32)

    def new_cache(self) -> list:
        return [self.empty, self.empty, 0]

    def forward(self, ids: list[int], roles: list[tuple[int, int, int, int]], cache: list) -> np.ndarray:
        """Logits (vocab,) after the last of `ids`; the cache advances by len(ids)."""
        logits, cache[0], cache[1] = self.session.run(None, {
            "ids": np.array([ids], np.int64), "roles": np.array([roles], np.int64).reshape(1, len(ids), 4),
            "past_k": cache[0], "past_v": cache[1]})
        cache[2] += len(ids)
        return logits


def load_onnx_decoder(model_dir: Path) -> OrtDecoder:
    """The ONNX decoder of a model directory; ModelLoadError when there is none or it does not fit."""
    path = Path(model_dir) / ONNX_FILE
    if not path.is_file():
        raise ModelLoadError(f"{path}: no ONNX graph; write one with `rpg-brain export --model {model_dir}`")
    return OrtDecoder(path, read_config(Path(model_dir))["weights_sha256"])


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
