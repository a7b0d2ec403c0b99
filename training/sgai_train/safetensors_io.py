"""Minimal safetensors writer/reader (no dependency on the safetensors package).

Layout: u64 little-endian header length N, N bytes of JSON header
{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}},
then the data buffer. The header is padded with spaces so the data starts on
an 8-byte boundary. Offsets are relative to the data buffer, tensors are packed
back to back without holes (the reference loader rejects holes), little-endian,
C order. Tensors are written largest dtype first, then by name, so every
tensor stays aligned to its element size and the file is deterministic.
"""

from __future__ import annotations

import json
import struct
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

_DTYPES = {
    np.dtype("float64"): "F64", np.dtype("float32"): "F32", np.dtype("float16"): "F16",
    np.dtype("int64"): "I64", np.dtype("int32"): "I32", np.dtype("int16"): "I16",
    np.dtype("int8"): "I8", np.dtype("uint8"): "U8", np.dtype("bool"): "BOOL",
}
_NP = {v: k for k, v in _DTYPES.items()}


def _to_numpy(t) -> np.ndarray:
    if hasattr(t, "detach"):  # torch tensor
        t = t.detach().cpu().contiguous().numpy()
    a = np.asarray(t)
    if a.dtype not in _DTYPES:
        raise TypeError(f"unsupported dtype {a.dtype}")
    a = a.astype(a.dtype.newbyteorder("<"), copy=False)
    # copy(order="C") rather than ascontiguousarray, which would turn 0-d into 1-d.
    return a if a.flags.c_contiguous else a.copy(order="C")


def dumps(tensors: Mapping[str, object], metadata: Optional[Mapping[str, str]] = None) -> bytes:
    arrays = {k: _to_numpy(v) for k, v in tensors.items()}
    names = sorted(arrays, key=lambda k: (-arrays[k].dtype.itemsize, k))
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    off = 0
    for k in names:
        a = arrays[k]
        header[k] = {"dtype": _DTYPES[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(arrays[k].tobytes() for k in names)


def save_file(tensors: Mapping[str, object], path: str, metadata: Optional[Mapping[str, str]] = None) -> None:
    data = dumps(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)


def loads(data: bytes) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    if len(data) < 8:
        raise ValueError("file too short")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError("header length past end of file")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    buf = memoryview(data)[8 + n:]
    out: Dict[str, np.ndarray] = {}
    spans = []
    for k, e in header.items():
        dt = _NP[e["dtype"]].newbyteorder("<")
        b, end = e["data_offsets"]
        count = int(np.prod(e["shape"], dtype=np.int64))
        if end - b != count * dt.itemsize or end > len(buf):
            raise ValueError(f"bad data_offsets for {k}")
        spans.append((b, end))
        out[k] = np.frombuffer(buf[b:end], dtype=dt).reshape(e["shape"]).copy()
    pos = 0
    for b, end in sorted(spans):
        if b != pos:
            raise ValueError("data buffer has holes or overlaps")
        pos = end
    if pos != len(buf):
        raise ValueError("trailing bytes after data buffer")
    return out, meta


def load_file(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    with open(path, "rb") as f:
        return loads(f.read())
