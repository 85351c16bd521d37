"""Writes .npy files of every dtype/order/header version the reader supports, each with the expected
float32 values in column-major (Fortran) order, for test_npy. Usage: write_npy_cases.py OUT_DIR"""
import os
import sys

import numpy as np

out = sys.argv[1]
rng = np.random.default_rng(7)
names = []
for dt in ["<f4", "<f8", "|u1", "|i1", "<i2", "<u2", "<i4", "<u4", "<i8", ">f4", ">i2"]:
    for order in ["C", "F"]:
        base = rng.integers(-100, 100, size=(3, 4, 5))
        if np.dtype(dt).kind == "u":
            base = np.abs(base)
        a = np.asarray(base.astype(dt), order=order)
        if np.dtype(dt).kind == "f":
            a = (a * np.asarray(0.37, dtype=dt)).astype(dt)
        name = f"{dt.replace('<', 'le').replace('>', 'be').replace('|', '')}_{order}"
        np.save(os.path.join(out, name + ".npy"), a)
        np.save(os.path.join(out, name + ".expected_f32.npy"), a.astype(np.float32).ravel(order="F"))
        names.append(name)
# version 2.0 header, 2-D and 0-D arrays
a = np.arange(12, dtype=np.float32).reshape(3, 4)
with open(os.path.join(out, "v2.npy"), "wb") as f:
    np.lib.format.write_array(f, a, version=(2, 0))
np.save(os.path.join(out, "v2.expected_f32.npy"), a.ravel(order="F"))
names.append("v2")
np.save(os.path.join(out, "scalar.npy"), np.array(3.5, dtype=np.float64))
np.save(os.path.join(out, "scalar.expected_f32.npy"), np.array([3.5], dtype=np.float32))
names.append("scalar")
with open(os.path.join(out, "cases.txt"), "w") as f:
    f.write("\n".join(names) + "\n")
