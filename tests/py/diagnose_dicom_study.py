"""A small DICOM study for `raddiag diagnose`, written with pydicom: two series in one folder (a CT axial
series of 6 slices and an MR sagittal series of 5 slices, files shuffled), a text file and a truncated
DICOM. Usage: diagnose_dicom_study.py OUTDIR -> OUTDIR/study/..., OUTDIR/expected.json
({series uid: {modality, plane, dims [rows, cols, slices], files}}, and the names that must be skipped)."""
import json
import os
import sys
import warnings

import numpy as np
import pydicom
from pydicom.uid import generate_uid

from dicom_slice import series_slice

warnings.simplefilter("ignore")
out = sys.argv[1]
study = os.path.join(out, "study")
os.makedirs(study, exist_ok=True)
rng = np.random.default_rng(5)
expected = {"series": {}, "skipped": ["notes.txt", "broken.dcm"]}
MODALITY = {"CT": "CT", "MR": "MRI"}


def write_series(modality, iop, ipp0, step, n, rows, cols, plane):
    uid = generate_uid()
    for k in range(n):
        pixels = rng.integers(0, 2000, size=(rows, cols)).astype(np.uint16)
        ipp = [ipp0[i] + k * step[i] for i in range(3)]
        ds = series_slice(pixels, modality, uid, "1.2.3.4.5", k + 1, iop, ipp, [0.8, 0.8], np.linalg.norm(step),
                          intercept=-1024.0 if modality == "CT" else 0.0)
        ds.save_as(os.path.join(study, f"im_{rng.integers(1e9):09d}.dcm"), write_like_original=False)
    expected["series"][uid] = {"modality": MODALITY[modality], "plane": plane, "dims": [rows, cols, n]}


write_series("CT", [1, 0, 0, 0, 1, 0], [-100.0, -120.0, 30.0], [0, 0, 2.5], 6, 20, 18, "Axial")
write_series("MR", [0, 1, 0, 0, 0, -1], [40.0, -80.0, 60.0], [1.5, 0, 0], 5, 16, 22, "Sagittal")
with open(os.path.join(study, "notes.txt"), "w") as f:
    f.write("not an image\n")
ct = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files", "CT_small.dcm")
open(os.path.join(study, "broken.dcm"), "wb").write(open(ct, "rb").read()[:3000])
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f)
