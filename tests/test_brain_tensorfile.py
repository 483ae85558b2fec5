"""The safetensors reader/writer: round trip, and a clear error for every kind of damage."""

from __future__ import annotations

import json
import struct

import pytest
import torch

from brain.tensorfile import SafetensorsError, load_file, read_header, save_file


def _tensors() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return {"w": torch.randn(3, 4, generator=g), "b": torch.arange(5, dtype=torch.int64),
            "h": torch.randn(2, generator=g).to(torch.bfloat16), "s": torch.tensor(7.0)}


def test_round_trip_with_metadata(tmp_path):
    t = _tensors()
    save_file(t, tmp_path / "x.safetensors", metadata={"k": "v"})
    got, meta = load_file(tmp_path / "x.safetensors")
    assert meta == {"k": "v"} and set(got) == set(t)
    for k in t:
        assert got[k].dtype == t[k].dtype and torch.equal(got[k], t[k])
    assert not (tmp_path / "x.safetensors.tmp").exists()


def test_layout_is_standard_safetensors(tmp_path):
    save_file({"a": torch.ones(2)}, tmp_path / "x.safetensors")
    raw = (tmp_path / "x.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert header["a"] == {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    assert raw[8 + n:] == struct.pack("<2f", 1.0, 1.0)


def _write(path, header: dict, data: bytes = b"") -> None:
    head = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(head)) + head + data)


@pytest.mark.parametrize("damage, message", [
    (lambda raw: raw[:5], "no header length"),
    (lambda raw: raw[:40], "does not fit"),
    (lambda raw: raw[:-4], "truncated"),
    (lambda raw: raw[:8] + b"}" + raw[9:], "not valid JSON"),
    (lambda raw: b"", "no header length"),
])
def test_damaged_files_raise_clear_errors(tmp_path, damage, message):
    path = tmp_path / "x.safetensors"
    save_file(_tensors(), path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(SafetensorsError, match=message):
        load_file(path)


@pytest.mark.parametrize("entry, message", [
    ({"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}, "unknown dtype"),
    ({"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}, "bytes for shape"),
    ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, "bad shape"),
    ({"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}, "bad data_offsets"),
    ({"dtype": "F32", "shape": [1]}, "expected keys"),
])
def test_bad_header_entries(tmp_path, entry, message):
    _write(tmp_path / "x.safetensors", {"t": entry}, b"\0" * 8)
    with pytest.raises(SafetensorsError, match=message):
        read_header(tmp_path / "x.safetensors")


def test_overlapping_tensors_and_missing_file(tmp_path):
    e = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    _write(tmp_path / "x.safetensors", {"a": e, "b": e}, b"\0" * 4)
    with pytest.raises(SafetensorsError, match="overlap"):
        read_header(tmp_path / "x.safetensors")
    with pytest.raises(SafetensorsError, match="cannot read"):
        load_file(tmp_path / "absent.safetensors")
