"""Independent reference for the safetensors reader/writer (tests/model/test_safetensors.cpp). Debian
has no `safetensors` package, so the format is written and read here by hand from its specification
(8-byte little-endian header length, JSON header, contiguous data area), with struct/json/numpy/torch.

  safetensors_reference.py write OUT_DIR
      writes OUT_DIR/py.safetensors and the expected contents: OUT_DIR/manifest.json (names in data
      order, dtype, shape, npy file) with OUT_DIR/<i>.npy (float64 / int64 values) and metadata.
  safetensors_reference.py verify FILE REF_DIR
      checks FILE against the specification and its tensors against REF_DIR/<name>.npy and its
      metadata against REF_DIR/metadata.json; prints "verified N tensors".
"""
import json
import os
import struct
import sys

import numpy as np
import torch

DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}
SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
NUMPY = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
         "U8": "u1", "BOOL": "u1"}


def tensors():
    g = torch.Generator().manual_seed(11)
    return {
        "encoder.weight": torch.randn(4, 3, generator=g),
        "encoder.bias": torch.randn(4, generator=g, dtype=torch.float64),
        "half": torch.randn(2, 5, generator=g).half(),
        "brain": torch.randn(3, generator=g).bfloat16(),
        "steps": torch.randint(-2**40, 2**40, (2,), generator=g),
        "i32": torch.randint(-2**30, 2**30, (3, 1), generator=g, dtype=torch.int32),
        "i16": torch.randint(-30000, 30000, (4,), generator=g, dtype=torch.int16),
        "i8": torch.randint(-128, 128, (5,), generator=g, dtype=torch.int8),
        "pixels": torch.randint(0, 256, (2, 2, 2), generator=g, dtype=torch.uint8),
        "mask": torch.rand(9, generator=g) > 0.5,
        "scalar": torch.tensor(-1.5),
        "nothing": torch.zeros(0, 4),
        "unicode ✓ name": torch.arange(3, dtype=torch.float32),
    }


def raw_bytes(t):
    t = t.contiguous().reshape(-1)
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    return t.numpy().tobytes()


def write(out):
    os.makedirs(out, exist_ok=True)
    ts = tensors()
    # The reference writer's data order: larger dtype alignment first, then by name.
    order = sorted(ts, key=lambda n: (-SIZES[DTYPES[ts[n].dtype]], n))
    metadata = {"format": "pt", "config": json.dumps({"hidden": 512, "name": "Ré✓"}), "empty": ""}
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name in order:
        b = raw_bytes(ts[name])
        header[name] = {"dtype": DTYPES[ts[name].dtype], "shape": list(ts[name].shape),
                        "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    # Header keys in reverse order: data order, not header order, must decide the reader's order.
    text = json.dumps(dict(reversed(list(header.items())))).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(os.path.join(out, "py.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    entries = []
    for i, name in enumerate(order):
        t = ts[name]
        floating = t.is_floating_point()
        native = t.dtype in (torch.float32, torch.float64)
        np.save(os.path.join(out, f"{i}.npy"),
                (t if native else t.to(torch.float64 if floating else torch.int64)).contiguous().numpy())
        entries.append({"name": name, "dtype": DTYPES[t.dtype], "shape": list(t.shape), "npy": f"{i}.npy"})
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"entries": entries, "metadata": metadata}, f)


def verify(path, ref):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    assert 8 + n <= len(data), "header length beyond the file"
    text = data[8:8 + n].decode("utf-8")
    assert text.startswith("{"), "header must start with {"
    stripped = text.rstrip(" ")
    assert (8 + n) % 8 == 0, "data area not 8-byte aligned"
    header = json.loads(stripped)
    metadata = header.pop("__metadata__", {})
    expected_meta = json.load(open(os.path.join(ref, "metadata.json")))
    assert metadata == expected_meta, (metadata, expected_meta)
    body = data[8 + n:]
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
    pos = 0
    for begin, end, name in spans:
        assert begin == pos, f"{name}: gap or overlap at {begin}"
        pos = end
    assert pos == len(body), "data area not covered exactly"
    for name, info in header.items():
        begin, end = info["data_offsets"]
        raw = body[begin:end]
        shape = info["shape"]
        numel = int(np.prod(shape)) if shape else 1
        assert len(raw) == numel * SIZES[info["dtype"]], f"{name}: byte count"
        if info["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            values = bits.view(np.float32).astype(np.float64)
        else:
            values = np.frombuffer(raw, dtype=NUMPY[info["dtype"]])
        values = values.reshape(shape)
        expected = np.load(os.path.join(ref, name + ".npy"))
        assert values.shape == expected.shape, f"{name}: shape {values.shape} != {expected.shape}"
        assert np.array_equal(values.astype(expected.dtype), expected), f"{name}: values differ"
    print(f"verified {len(header)} tensors")


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    elif sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit(__doc__)
