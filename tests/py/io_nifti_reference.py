"""Independent reference for the NIfTI reader: nibabel's get_fdata() and best affine.

usage: io_nifti_reference.py OUTDIR SHARED_DATA
Writes extra NIfTI files covering every datatype, scaling, qform/sform cases, 2D/4D, NIfTI-2 and
big-endian into OUTDIR/gen, then for every test file a reference OUTDIR/ref_<n>.npy (float64, the
chosen volume, x/y/z) and OUTDIR/aff_<n>.npy, listed in OUTDIR/cases.txt as "path<TAB>n<TAB>volume".
"""
import glob
import gzip
import os
import sys

import nibabel as nib
import numpy as np

out, shared = sys.argv[1], sys.argv[2]
gen = os.path.join(out, "gen")
os.makedirs(gen, exist_ok=True)
rng = np.random.default_rng(0)
files = []  # (path, volume)

nib_data = os.path.join(os.path.dirname(nib.__file__), "tests", "data")
for name in ["anatomical.nii", "example4d.nii.gz", "example_nifti2.nii.gz", "functional.nii",
             "reoriented_anat_moved.nii", "resampled_anat_moved.nii", "standard.nii.gz"]:
    files.append((os.path.join(nib_data, name), 0))
files.append((os.path.join(nib_data, "example4d.nii.gz"), 1))
files.append((os.path.join(nib_data, "functional.nii"), 7))

affine = np.array([[-1.5, 0.1, 0, 90], [0.05, 1.2, -0.2, -120], [0, 0.3, 2.5, -60], [0, 0, 0, 1]])
shape = (7, 6, 5)
for dt in ["uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "float32", "float64"]:
    info = np.iinfo(dt) if np.dtype(dt).kind in "iu" else None
    lo, hi = (max(info.min, -30000), min(info.max, 60000)) if info else (-1000.0, 1000.0)
    data = rng.uniform(lo, hi, size=shape).astype(dt)
    img = nib.Nifti1Image(data, affine, dtype=dt)
    p = os.path.join(gen, f"dtype_{dt}.nii")
    nib.save(img, p)
    files.append((p, 0))

# Scaling: applied, slope 0 and NaN mean "no scaling".
base = rng.integers(-500, 1500, size=shape).astype(np.int16)
for tag, slope, inter in [("scaled", 2.5, -10.0), ("slope0", 0.0, 5.0), ("slopenan", np.nan, 3.0), ("neg", -0.5, 100.0)]:
    # nibabel chooses its own scaling on save, so the header fields are patched in the file:
    # scl_slope and scl_inter are the float32s at bytes 112 and 116 of a NIfTI-1 header.
    p = os.path.join(gen, f"{tag}.nii")
    nib.save(nib.Nifti1Image(base, affine, dtype=np.int16), p)
    with open(p, "r+b") as fh:
        fh.seek(112)
        fh.write(np.array([slope, inter], dtype="<f4").tobytes())
    with open(p, "rb") as fh, gzip.open(p + ".gz", "wb") as gz:
        gz.write(fh.read())
    os.remove(p)
    files.append((p + ".gz", 0))

# Orientation codes: sform only, qform only, neither.
for tag, s, q in [("sform_only", 1, 0), ("qform_only", 0, 1), ("no_form", 0, 0)]:
    img = nib.Nifti1Image(base, affine)
    img.header.set_sform(affine if s else None, code=s)
    img.header.set_qform(affine if q else None, code=q)
    img.header.set_zooms((1.5, 1.2, 2.5))
    p = os.path.join(gen, f"{tag}.nii")
    nib.save(img, p)
    files.append((p, 0))

# 2D, 4D, NIfTI-2, big-endian.
nib.save(nib.Nifti1Image(rng.normal(size=(9, 4)).astype(np.float32), affine), os.path.join(gen, "two_d.nii"))
files.append((os.path.join(gen, "two_d.nii"), 0))
four = rng.integers(0, 255, size=(5, 4, 3, 4)).astype(np.uint8)
nib.save(nib.Nifti1Image(four, affine), os.path.join(gen, "four_d.nii.gz"))
files += [(os.path.join(gen, "four_d.nii.gz"), 0), (os.path.join(gen, "four_d.nii.gz"), 3)]
nib.save(nib.Nifti2Image(base.astype(np.float32) * 0.25, affine), os.path.join(gen, "nifti2.nii"))
files.append((os.path.join(gen, "nifti2.nii"), 0))
be = nib.Nifti1Image(base.astype(">i2"), affine)
be.set_data_dtype(">i2")
nib.save(be, os.path.join(gen, "big_endian.nii"))
files.append((os.path.join(gen, "big_endian.nii"), 0))

# RGB24 (nibabel cannot get_fdata() it): reference = luma 0.299 R + 0.587 G + 0.114 B of the raw triplets.
rgb_dtype = np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")])
rgb = np.zeros((6, 5, 4), dtype=rgb_dtype)
for c in "RGB":
    rgb[c] = rng.integers(0, 256, size=(6, 5, 4))
rgb_path = os.path.join(gen, "rgb24.nii")
nib.save(nib.Nifti1Image(rgb, affine), rgb_path)
manual = {rgb_path: 0.299 * rgb["R"] + 0.587 * rgb["G"] + 0.114 * rgb["B"]}
files.append((rgb_path, 0))

# The real LIDC volumes.
files += [(p, 0) for p in sorted(glob.glob(os.path.join(shared, "real/lidc_nodule_ct3d/volumes/*.nii.gz")))]

with open(os.path.join(out, "cases.txt"), "w") as f:
    for n, (p, vol) in enumerate(files):
        img = nib.load(p)
        data = manual[p] if p in manual else img.get_fdata()
        if data.ndim == 4:
            data = data[..., vol]
        while data.ndim < 3:
            data = data[..., np.newaxis]
        np.save(os.path.join(out, f"ref_{n}.npy"), np.asfortranarray(data))
        np.save(os.path.join(out, f"aff_{n}.npy"), img.affine.astype(np.float64))
        f.write(f"{p}\t{n}\t{vol}\n")
print(len(files), "cases")
