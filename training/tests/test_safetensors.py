import json
import struct

import numpy as np
import pytest
import torch

from sgai_train import safetensors_io as st


def test_round_trip_and_layout(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {
        "b.f32": rng.standard_normal((3, 4, 5)).astype(np.float32),
        "a.f16": rng.standard_normal((7,)).astype(np.float16),
        "c.i32": np.arange(6, dtype=np.int32).reshape(2, 3),
        "scalar": np.array(2.5, dtype=np.float32),
        "torch.t": torch.linspace(0, 1, 9).reshape(3, 3),
    }
    path = tmp_path / "t.safetensors"
    st.save_file(tensors, str(path), {"k": "v", "n": 3})
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0  # data starts 8-byte aligned
    header = json.loads(raw[8:8 + n])
    assert header["__metadata__"] == {"k": "v", "n": "3"}  # values are strings
    assert header["b.f32"] == {"dtype": "F32", "shape": [3, 4, 5], "data_offsets": header["b.f32"]["data_offsets"]}
    assert header["a.f16"]["dtype"] == "F16" and header["scalar"]["shape"] == []
    # Packed without holes, wider dtypes first (alignment).
    spans = sorted(v["data_offsets"] for k, v in header.items() if k != "__metadata__")
    assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert spans[-1][1] == len(raw) - 8 - n
    assert header["a.f16"]["data_offsets"][0] == spans[-1][0]
    # Little-endian payload.
    b0 = header["c.i32"]["data_offsets"][0]
    assert raw[8 + n + b0: 8 + n + b0 + 8] == struct.pack("<ii", 0, 1)

    back, meta = st.load_file(str(path))
    assert meta == {"k": "v", "n": "3"}
    for k, v in tensors.items():
        v = v.numpy() if hasattr(v, "numpy") else v
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        assert np.array_equal(back[k], v)


def test_deterministic_bytes():
    t = {"x": np.ones((2, 2), np.float32), "y": np.zeros(3, np.float16)}
    assert st.dumps(t, {"a": "b"}) == st.dumps(dict(reversed(list(t.items()))), {"a": "b"})


def test_reader_rejects_holes():
    data = bytearray(st.dumps({"x": np.ones(2, np.float32)}))
    (n,) = struct.unpack("<Q", data[:8])
    bad = data[:8 + n].replace(b"[0,8]", b"[4,8]")
    with pytest.raises(ValueError):
        st.loads(bytes(bad) + bytes(data[8 + n:]))
