"""A small safetensors reader/writer: weights without pickle and without a dependency.

File layout (https://github.com/huggingface/safetensors): 8-byte little-endian
header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
"__metadata__": {str: str}}, then the raw little-endian tensor bytes, offsets
relative to the end of the header. Everything is validated before a byte is
interpreted, so a truncated or corrupt file raises SafetensorsError.
"""

from __future__ import annotations

import itertools
import json
import os
import struct
from pathlib import Path

import numpy as np
import torch

_DTYPES: dict[str, tuple[torch.dtype, np.dtype]] = {
    "F32": (torch.float32, np.dtype("<f4")),
    "F16": (torch.float16, np.dtype("<f2")),
    "BF16": (torch.bfloat16, np.dtype("<u2")),  # numpy has no bf16: move the raw bits
    "F64": (torch.float64, np.dtype("<f8")),
    "I64": (torch.int64, np.dtype("<i8")),
    "I32": (torch.int32, np.dtype("<i4")),
    "U8": (torch.uint8, np.dtype("u1")),
    "BOOL": (torch.bool, np.dtype("?")),
}
_BY_TORCH = {t: name for name, (t, _) in _DTYPES.items()}
MAX_HEADER = 100 * 1024 * 1024


class SafetensorsError(ValueError):
    """A weights file that cannot be read: which file and what is wrong with it."""


def save_file(tensors: dict[str, torch.Tensor], path: str | os.PathLike,
              metadata: dict[str, str] | None = None) -> None:
    """Write `tensors` atomically (temp file + rename), so a crash never leaves half a file."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs: list[bytes] = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        if t.dtype not in _BY_TORCH:
            raise SafetensorsError(f"{path}: tensor {name!r} has unsupported dtype {t.dtype}")
        dtype = _BY_TORCH[t.dtype]
        raw = t.view(torch.uint16) if t.dtype == torch.bfloat16 else t
        data = raw.numpy().astype(_DTYPES[dtype][1], copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # align the data section, as the reference writer does
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_header(path: str | os.PathLike) -> tuple[dict[str, dict], dict[str, str], int]:
    """(tensor entries, metadata, data start) after checking the header against the file size."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            first = f.read(8)
            if len(first) < 8:
                raise SafetensorsError(f"{path}: truncated: {size} bytes, no header length")
            (n,) = struct.unpack("<Q", first)
            if n > MAX_HEADER or 8 + n > size:
                raise SafetensorsError(f"{path}: header length {n} does not fit a {size}-byte file (truncated?)")
            raw = f.read(n)
    except OSError as exc:
        raise SafetensorsError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SafetensorsError(f"{path}: header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header is not a JSON object")
    meta = header.pop("__metadata__", {}) or {}
    if not isinstance(meta, dict):
        raise SafetensorsError(f"{path}: __metadata__ is not an object")
    data_len = size - 8 - n
    spans = []
    for name, e in header.items():
        where = f"{path}: tensor {name!r}"
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            raise SafetensorsError(f"{where}: expected keys dtype, shape, data_offsets")
        if e["dtype"] not in _DTYPES:
            raise SafetensorsError(f"{where}: unknown dtype {e['dtype']!r}")
        shape, offs = e["shape"], e["data_offsets"]
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise SafetensorsError(f"{where}: bad shape {shape!r}")
        if not (isinstance(offs, list) and len(offs) == 2 and all(isinstance(o, int) for o in offs)
                and 0 <= offs[0] <= offs[1]):
            raise SafetensorsError(f"{where}: bad data_offsets {offs!r}")
        want = int(np.prod(shape, dtype=np.int64)) * _DTYPES[e["dtype"]][1].itemsize
        if offs[1] - offs[0] != want:
            raise SafetensorsError(f"{where}: {offs[1] - offs[0]} bytes for shape {shape} {e['dtype']} ({want})")
        if offs[1] > data_len:
            raise SafetensorsError(f"{where}: data ends at {offs[1]} but the file has {data_len} (truncated)")
        spans.append(tuple(offs))
    spans.sort()
    for (_, end), (begin, _) in itertools.pairwise(spans):
        if begin < end:
            raise SafetensorsError(f"{path}: tensors overlap in the data section")
    return header, meta, 8 + n


def load_file(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors (fresh, writable, CPU) and the metadata of a safetensors file."""
    header, meta, start = read_header(path)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read()
    out: dict[str, torch.Tensor] = {}
    for name, e in header.items():
        tdtype, ndtype = _DTYPES[e["dtype"]]
        b, end = e["data_offsets"]
        arr = np.frombuffer(data, dtype=ndtype, count=(end - b) // ndtype.itemsize, offset=b).copy()
        t = torch.from_numpy(arr.reshape(e["shape"]))
        out[name] = t.view(torch.bfloat16) if tdtype == torch.bfloat16 else t
    return out, meta
