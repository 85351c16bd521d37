"""Writes the inputs of bench_io / bench_io.py (run once before either).

usage: make_bench_io_data.py [OUTDIR]   (default $RADDIAG_BENCH_DATA, else raddiag_bench_io in the temporary folder)
  OUTDIR/ct_series/      512x512x64 int16 CT series, explicit VR little endian, shuffled file names
  OUTDIR/ct_series_rle/  the same series RLE-compressed (gdcmconv)
  OUTDIR/ct_512x512x64.nii.gz  the same volume as NIfTI (nibabel)
"""
import os
import tempfile
import subprocess
import sys

import nibabel as nib
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

out = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RADDIAG_BENCH_DATA", os.path.join(tempfile.gettempdir(), "raddiag_bench_io"))
series, rle = os.path.join(out, "ct_series"), os.path.join(out, "ct_series_rle")
os.makedirs(series, exist_ok=True)
os.makedirs(rle, exist_ok=True)
rng = np.random.default_rng(0)
n, size = 64, 512
yy, xx = np.mgrid[0:size, 0:size]
body = ((yy - 256) ** 2 / 200 ** 2 + (xx - 256) ** 2 / 230 ** 2) < 1
uid = generate_uid()
vol = np.zeros((size, size, n), np.int16)
order = rng.permutation(n)
for k in range(n):
    img = np.where(body, 40 + rng.normal(0, 20, (size, size)), -1000) + 1024  # stored = HU + 1024
    img = img.astype(np.int16)
    vol[..., k] = img - 1024
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.Modality, ds.SeriesInstanceUID, ds.StudyInstanceUID = "CT", uid, generate_uid()
    ds.InstanceNumber = k + 1
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.ImagePositionPatient = [-250.0, -250.0, -100.0 + 2.5 * k]
    ds.PixelSpacing, ds.SliceThickness = [0.9765625, 0.9765625], 2.5
    ds.Rows = ds.Columns = size
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = 1.0, -1024.0
    ds.PixelData = img.tobytes()
    name = f"{order[k]:03d}_{generate_uid()[-8:]}.dcm"
    ds.save_as(os.path.join(series, name), write_like_original=False)
    subprocess.run(["gdcmconv", "--rle", os.path.join(series, name), os.path.join(rle, name)], check=True)
nib.save(nib.Nifti1Image(np.transpose(vol, (1, 0, 2)), np.diag([0.977, 0.977, 2.5, 1.0])), os.path.join(out, "ct_512x512x64.nii.gz"))
print("wrote", out)
