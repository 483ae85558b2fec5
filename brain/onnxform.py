"""The ONNX form at play time: one decode step as an ONNX graph, run by ONNX Runtime at batch 1.

At batch 1 a step of the shipped model is ~60 tiny operations; numpy (brain/fastpath.py) pays Python's
cost on each, ONNX Runtime runs the whole step as one fused call. The graph (written by
brain/onnxexport.py) takes ids (1, n), roles (1, n, 4), past_k and past_v (layers, heads, p, head_dim)
and returns the logits after each token of the chunk (n, vocab) and the cache with the chunk appended.

A model.onnx is a file anyone could have replaced, so before the game uses one it is checked
(`load_onnx_decoder`): a size bound, only the operators the exporter emits (no Loop, Scan or If, no
other domains, no external data), the weights' sha256 in its metadata, the names, ranks, dtypes and
static dims of its inputs and outputs against config.json, and one probe call whose logits must equal
the numpy decoder's. A graph that fails any check is not used; the numpy decoder answers and the
resolver's decoder_note says why. Running needs only `onnxruntime` (`pip install '.[onnx]'`); no torch.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from brain.checkpoint import ModelLoadError
from brain.fastpath import NumpyDecoder
from brain.tokenizer import Roles, Tokenizer

ONNX_FILE = "model.onnx"
HASH_KEY = "weights_sha256"
# What torch.onnx.export (dynamo, optimize=True) emits for StepGraph, plus harmless plumbing.
# Control flow (Loop, Scan, If) could run for ever; anything else was never exported by us.
ALLOWED_OPS = frozenset({
    "Add", "Cast", "Concat", "Constant", "Cos", "Div", "Equal", "Erf", "Expand", "Gather", "Gelu", "Gemm",
    "Greater", "Identity", "LayerNormalization", "Less", "MatMul", "Mul", "Neg", "Range", "Reshape", "Shape",
    "Sin", "Slice", "Softmax", "Split", "Sqrt", "Squeeze", "Sub", "Transpose", "Unsqueeze", "Where",
})
ALLOWED_DOMAINS = frozenset({"", "ai.onnx"})
PROBE_TOL = 1e-4


def max_onnx_bytes(weights_bytes: int) -> int:
    """The graph holds the fp32 weights once plus rotary tables: four times the weights and 8 MB is ample."""
    return 4 * weights_bytes + (8 << 20)


# ---------------------------------------------------------------- a minimal protobuf reader
# onnxruntime does not list a graph's nodes and the onnx package is an exporter's dependency, not a
# player's: the few fields checked here are read straight from the protobuf wire format.

def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def _fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of one message; length-delimited values as bytes."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated field")
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield field, wire, value


def graph_ops(blob: bytes) -> tuple[set[tuple[str, str]], set[str], bool]:
    """({(domain, op_type)} of the main graph's nodes, opset domains, any functions or external data)."""
    ops: set[tuple[str, str]] = set()
    domains: set[str] = set()
    unusual = False
    for field, wire, value in _fields(blob):
        if wire != 2:
            continue
        if field == 8:  # ModelProto.opset_import
            domains.add(next((v.decode() for f, w, v in _fields(value) if f == 1 and w == 2), ""))
        elif field == 25:  # ModelProto.functions: our exporter inlines everything
            unusual = True
        elif field == 7:  # ModelProto.graph
            for gf, gw, gv in _fields(value):
                if gf == 1 and gw == 2:  # GraphProto.node
                    node = {f: v for f, w, v in _fields(gv) if w == 2 and f in (4, 7)}
                    ops.add((node.get(7, b"").decode(), node.get(4, b"").decode()))
                elif gf == 5 and gw == 2:  # GraphProto.initializer: data_location EXTERNAL reads other files
                    unusual |= any(f == 14 and w == 0 and v == 1 for f, w, v in _fields(gv))
    return ops, domains, unusual


class OrtDecoder:
    """NumpyDecoder's interface (new_cache, forward) over an ONNX Runtime session, one thread."""

    name = "onnx"

    def __init__(self, session, layers: int, heads: int, head_dim: int) -> None:
        self.session = session
        self.empty = np.zeros((layers, heads, 0, head_dim), np.float32)

    def new_cache(self) -> list:
        return [self.empty, self.empty, 0]

    def forward(self, ids: list[int], roles: list[tuple[int, int, int, int]], cache: list) -> np.ndarray:
        """Logits (vocab,) after the last of `ids`; the cache advances by len(ids)."""
        return self.forward_all(ids, roles, cache)[-1]

    def forward_all(self, ids: list[int], roles: list[tuple[int, int, int, int]], cache: list) -> np.ndarray:
        """Logits (len(ids), vocab) after each of `ids`."""
        logits, cache[0], cache[1] = self.session.run(None, {
            "ids": np.array([ids], np.int64), "roles": np.array([roles], np.int64).reshape(1, len(ids), 4),
            "past_k": cache[0], "past_v": cache[1]})
        cache[2] += len(ids)
        return logits

    @staticmethod
    def truncate(cache: list, length: int) -> None:
        """Forget every cached position from `length` on (rejected draft tokens)."""
        if length < cache[2]:
            cache[0], cache[1], cache[2] = cache[0][:, :, :length], cache[1][:, :, :length], length


def _check_io(path: Path, session, reference: NumpyDecoder) -> None:
    """Inputs and outputs: names in order, dtypes, ranks, and every static dim against the config."""
    cfg = reference.cfg
    L, H, hd, V = cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head, cfg.vocab_size
    dyn = None  # a dim the graph must leave symbolic
    want_in = [("ids", "tensor(int64)", [1, dyn]), ("roles", "tensor(int64)", [1, dyn, 4]),
               ("past_k", "tensor(float)", [L, H, dyn, hd]), ("past_v", "tensor(float)", [L, H, dyn, hd])]
    # logits after every token of the chunk: one call verifies a drafted answer (brain/draft.py)
    want_out = [("logits", "tensor(float)", [dyn, V]), ("k", "tensor(float)", [L, H, dyn, hd]),
                ("v", "tensor(float)", [L, H, dyn, hd])]
    for kind, got, want in (("input", session.get_inputs(), want_in), ("output", session.get_outputs(), want_out)):
        names = [g.name for g in got]
        if names != [w[0] for w in want]:
            raise ModelLoadError(f"{path}: {kind}s {names}, expected {[w[0] for w in want]}")
        for g, (name, dtype, dims) in zip(got, want, strict=True):
            if g.type != dtype:
                raise ModelLoadError(f"{path}: {kind} {name}: {g.type}, expected {dtype}")
            shape = list(g.shape)
            if len(shape) != len(dims):
                raise ModelLoadError(f"{path}: {kind} {name}: rank {len(shape)}, expected {len(dims)}")
            for axis, (have, need) in enumerate(zip(shape, dims, strict=True)):
                if need is not None and have != need:
                    raise ModelLoadError(f"{path}: {kind} {name}: dim {axis} is {have}, config.json implies {need}")
                if need is None and isinstance(have, int):
                    raise ModelLoadError(f"{path}: {kind} {name}: dim {axis} is fixed at {have}, must be dynamic")


def _probe(path: Path, dec: OrtDecoder, reference: NumpyDecoder, tok: Tokenizer) -> None:
    """A prompt then one more token through both decoders: same shapes, same logits."""
    # any ids do (only the arithmetic is compared); 34 positions fit every context config.py allows
    ids = [tok.bos, *range(4, min(len(tok), 36)), tok.sep]
    roles = Roles(tok).of(ids)
    cfg = reference.cfg
    a, b = dec.new_cache(), reference.new_cache()
    for chunk in (slice(0, len(ids) - 1), slice(len(ids) - 1, len(ids))):
        try:
            got = dec.forward_all(ids[chunk], roles[chunk], a)
        except Exception as exc:  # onnxruntime raises its own types
            raise ModelLoadError(f"{path}: the probe call failed ({type(exc).__name__}: {exc})") from exc
        want = reference.forward_all(ids[chunk], roles[chunk], b)
        kv = (cfg.n_layer, cfg.n_head, chunk.stop, cfg.n_embd // cfg.n_head)
        if np.shape(got) != want.shape or a[0].shape != kv or a[1].shape != kv:
            raise ModelLoadError(f"{path}: the probe call returned logits {np.shape(got)} and cache "
                                 f"{a[0].shape}, expected {want.shape} and {kv}")
        err = float(np.max(np.abs(got - want) / (1.0 + np.abs(want))))
        if not err <= PROBE_TOL:  # NaN fails too
            raise ModelLoadError(f"{path}: the probe's logits differ from the weights' by {err:.2g} (> {PROBE_TOL})")


def load_onnx_decoder(model_dir: Path, weights_sha256: str, reference: NumpyDecoder, tok: Tokenizer) -> OrtDecoder:
    """The checked ONNX decoder of a model directory; ModelLoadError naming the file and the reason otherwise."""
    from brain.checkpoint import WEIGHTS

    path = Path(model_dir) / ONNX_FILE
    if not path.is_file():
        raise ModelLoadError(f"{path}: no ONNX graph; write one with `rpg-brain export --model {model_dir}`")
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ModelLoadError("onnxruntime is not installed (pip install '.[onnx]')") from exc
    limit = max_onnx_bytes((Path(model_dir) / WEIGHTS).stat().st_size)
    if path.stat().st_size > limit:
        raise ModelLoadError(f"{path}: {path.stat().st_size} bytes, more than a graph of these weights needs ({limit})")
    blob = path.read_bytes()
    try:
        ops, domains, unusual = graph_ops(blob)
    except ValueError as exc:
        raise ModelLoadError(f"{path}: not a usable ONNX graph (unreadable protobuf: {exc})") from exc
    bad = sorted(f"{d}:{op}" if d else op for d, op in ops if d not in ALLOWED_DOMAINS or op not in ALLOWED_OPS)
    if bad or not ops:
        raise ModelLoadError(f"{path}: not a usable ONNX graph (operators the exporter never emits: "
                             f"{', '.join(bad[:5]) or 'no nodes'})")
    if domains - ALLOWED_DOMAINS or unusual:
        raise ModelLoadError(f"{path}: not a usable ONNX graph (opset domains {sorted(domains - ALLOWED_DOMAINS)}, "
                             "functions or external data)")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        session = ort.InferenceSession(blob, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for unreadable or invalid graphs
        raise ModelLoadError(f"{path}: not a usable ONNX graph ({exc})") from exc
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get(HASH_KEY) != weights_sha256:
        raise ModelLoadError(f"{path}: exported from other weights (sha256 {meta.get(HASH_KEY, 'missing')[:12]}, "
                             f"model.safetensors is {weights_sha256[:12]}); re-export with `rpg-brain export`")
    _check_io(path, session, reference)
    cfg = reference.cfg
    dec = OrtDecoder(session, cfg.n_layer, cfg.n_head, cfg.n_embd // cfg.n_head)
    _probe(path, dec, reference, tok)
    return dec
