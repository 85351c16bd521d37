"""Independent reference for the DICOM reader, decoded with pydicom (and nibabel for geometry).

usage: io_dicom_reference.py OUTDIR
1. Single files shipped with pydicom/nibabel that pydicom can decode: OUTDIR/ref_<n>.npy holds
   pixel_array * RescaleSlope + RescaleIntercept as (rows, cols, frames) float64 after the documented
   gray rules (MONOCHROME1: lo + hi - v over the Bits Stored range; RGB: one channel when all equal,
   else 0.299 R + 0.587 G + 0.114 B; YBR_FULL*: the Y channel). cases.txt: "path<TAB>n<TAB>tol<TAB>modality".
2. Compressed variants made with gdcmconv (JPEG lossless, JPEG-LS, JPEG 2000, RLE, deflate) and files
   pydicom cannot decode (JPEG-LS, JPEG lossless) paired with their uncompressed siblings: pairs.txt.
3. A synthetic folder with two series (shuffled file names, slices out of order), a text file and a
   truncated DICOM: OUTDIR/series, expected volumes series_<uid>.npy, and series.json with the
   expected spacing, affine (RAS) and slice order.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pydicom
from pydicom.uid import generate_uid

from dicom_slice import series_slice

warnings.simplefilter("ignore")
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
pyd = os.path.join(os.path.dirname(pydicom.__file__), "data", "test_files")
nic = "/usr/lib/python3/dist-packages/nibabel/nicom/tests/data"


def gray(ds):
    a = ds.pixel_array.astype(np.float64)
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spp = int(getattr(ds, "SamplesPerPixel", 1))
    if frames == 1:
        a = a[np.newaxis]
    pi = str(ds.PhotometricInterpretation).strip()
    if spp == 3:
        if pi.startswith("YBR_FULL"):
            a = a[..., 0]
        elif np.all(a[..., 0] == a[..., 1]) and np.all(a[..., 0] == a[..., 2]):
            a = a[..., 0]
        else:
            a = 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]
    else:
        bs = int(ds.BitsStored)
        if pi == "MONOCHROME1":
            lo, hi = (-(2 ** (bs - 1)), 2 ** (bs - 1) - 1) if ds.PixelRepresentation else (0, 2 ** bs - 1)
            a = lo + hi - a
        slope = float(getattr(ds, "RescaleSlope", 1) or 1)
        inter = float(getattr(ds, "RescaleIntercept", 0) or 0)
        a = a * slope + inter
    return np.asfortranarray(np.transpose(a, (1, 2, 0)))  # (frames, rows, cols) -> (rows, cols, frames)


MODALITY = {"CT": "CT", "MR": "MRI", "CR": "X-ray", "DX": "X-ray", "US": "Ultrasound", "NM": "Nuclear medicine"}
singles = [  # (file, tolerance): 0 = exact (float32 rounding), lossy JPEG gets a few grey levels
    ("CT_small.dcm", 0), ("MR_small.dcm", 0), ("MR_small_bigendian.dcm", 0), ("MR_small_expb.dcm", 0),
    ("MR_small_implicit.dcm", 0), ("MR_small_RLE.dcm", 0), ("MR_small_padded.dcm", 0),
    ("MR_small_jp2klossless.dcm", 0), ("JPEG2000.dcm", 0), ("ExplVR_BigEnd.dcm", 0), ("image_dfl.dcm", 0),
    ("rtdose.dcm", 0), ("rtdose_rle.dcm", 0), ("rtdose_expb.dcm", 0), ("rtdose_1frame.dcm", 0),
    ("SC_rgb_rle.dcm", 0), ("SC_rgb_rle_16bit.dcm", 0), ("SC_rgb_rle_32bit.dcm", 0), ("SC_rgb_rle_16bit_2frame.dcm", 0), ("rtdose_rle_1frame.dcm", 0), ("SC_rgb_rle_2frame.dcm", 0), ("SC_rgb_small_odd.dcm", 0),
    ("SC_ybr_full_422_uncompressed.dcm", 0), ("liver_1frame.dcm", 0), ("liver_expb_1frame.dcm", 0),
    ("SC_rgb_dcmtk_+eb+cr.dcm", 3), ("SC_rgb_dcmtk_+eb+cy+n1.dcm", 3), ("SC_rgb_dcmtk_+eb+cy+np.dcm", 3),
    ("SC_rgb_jpeg_dcmtk.dcm", 3), ("SC_jpeg_no_color_transform.dcm", 3),
]
with open(os.path.join(out, "cases.txt"), "w") as f:
    paths = [(os.path.join(pyd, n), t) for n, t in singles]
    paths += [(os.path.join(nic, n), 0) for n in ["0.dcm", "1.dcm", "decimal_rescale.dcm", "slicethickness_empty_string.dcm"]]
    for n, (p, tol) in enumerate(paths):
        ds = pydicom.dcmread(p)
        np.save(os.path.join(out, f"ref_{n}.npy"), gray(ds))
        mod = str(getattr(ds, "Modality", ""))
        f.write(f"{p}\t{n}\t{tol}\t{MODALITY.get(mod, mod)}\n")

# --- compressed variants vs their uncompressed source (GDCM vs GDCM decoding of the original) ---
comp = os.path.join(out, "compressed")
os.makedirs(comp, exist_ok=True)
pairs = [(os.path.join(pyd, "MR_small_jpeg_ls_lossless.dcm"), os.path.join(pyd, "MR_small.dcm")),
         (os.path.join(pyd, "SC_rgb_jpeg_gdcm.dcm"), os.path.join(pyd, "SC_rgb_rle.dcm"))]
for src in ["CT_small.dcm", "MR_small.dcm", "SC_rgb_rle.dcm"]:
    for flag in ["--jpeg", "--jpegls", "--j2k", "--rle", "--deflated"]:
        dst = os.path.join(comp, src.replace(".dcm", flag.replace("--", "_") + ".dcm"))
        r = subprocess.run(["gdcmconv", flag, os.path.join(pyd, src), dst], capture_output=True)
        if r.returncode == 0 and os.path.exists(dst):  # gdcmconv cannot deflate an RLE source
            pairs.append((dst, os.path.join(pyd, src)))
with open(os.path.join(out, "pairs.txt"), "w") as f:
    for a, b in pairs:
        f.write(f"{a}\t{b}\n")

# --- a synthetic folder with two series ---
series_dir = os.path.join(out, "series")
os.makedirs(series_dir, exist_ok=True)
rng = np.random.default_rng(1)
expected = {}


def write_series(modality, iop, ipp0, step, n, rows, cols, dtype, slope, inter, pixel_spacing, mono="MONOCHROME2"):
    uid = generate_uid()
    vols = rng.integers(0, 1000, size=(n, rows, cols)).astype(dtype)
    names = []
    for k in range(n):
        ipp = [ipp0[i] + k * step[i] for i in range(3)]
        # InstanceNumber deliberately the reverse of the spatial order.
        ds = series_slice(vols[k], modality, uid, "1.2.3.4", n - k, iop, ipp, pixel_spacing, np.linalg.norm(step),
                          slope, inter, mono)
        name = os.path.join(series_dir, f"img_{rng.integers(1e9):09d}.dcm")
        ds.save_as(name, write_like_original=False)
        names.append(name)
    files = list(names)
    # Reference volume: slices by position along the normal, via pydicom + nibabel's DICOM wrapper.
    from nibabel.nicom import dicomwrappers
    dss = [pydicom.dcmread(p) for p in files]
    normal = np.cross(np.array(iop[:3]), np.array(iop[3:]))
    order = np.argsort([np.dot(np.array(d.ImagePositionPatient, float), normal) for d in dss])
    vol = np.stack([dss[i].pixel_array.astype(np.float64) for i in order], axis=-1)
    if mono == "MONOCHROME1":
        vol = (0 + 65535) - vol
    vol = vol * slope + inter
    w = dicomwrappers.wrapper_from_data(dss[order[0]])
    aff = np.array(w.affine, dtype=np.float64)  # LPS; nibabel's voxel axes are (row, column, slice) too
    first = np.array(dss[order[0]].ImagePositionPatient, float)
    last = np.array(dss[order[-1]].ImagePositionPatient, float)
    lps = np.eye(4)
    lps[:3, :2] = aff[:3, :2]
    lps[:3, 2] = (last - first) / (n - 1)
    lps[:3, 3] = aff[:3, 3]
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    np.save(os.path.join(out, f"series_{uid}.npy"), np.asfortranarray(vol))
    expected[uid] = {"affine": ras.tolist(), "files": [files[i] for i in order],
                     "spacing": [float(pixel_spacing[0]), float(pixel_spacing[1]), float(np.linalg.norm(step))],
                     "modality": MODALITY.get(modality, modality), "dims": list(vol.shape)}


write_series("CT", [1, 0, 0, 0, 1, 0], [-100.0, -120.0, 30.0], [0, 0, -2.5], 7, 12, 10, np.int16, 1.0, -1024.0, [0.7, 0.8])
write_series("MR", [0, 1, 0, 0, 0, -1], [40.0, -80.0, 60.0], [1.5, 0, 0], 5, 9, 11, np.uint16, 2.0, 0.0, [1.1, 0.9], "MONOCHROME1")
with open(os.path.join(series_dir, "notes.txt"), "w") as f:
    f.write("not an image\n")
truncated = open(os.path.join(pyd, "CT_small.dcm"), "rb").read()[:3000]
open(os.path.join(series_dir, "broken.dcm"), "wb").write(truncated)
with open(os.path.join(out, "series.json"), "w") as f:
    json.dump(expected, f)
print(len(paths), "single files,", len(pairs), "pairs")
