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
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

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
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.Modality = modality
        ds.SeriesInstanceUID = uid
        ds.StudyInstanceUID = "1.2.3.4.5"
        ds.InstanceNumber = k + 1
        ds.ImageOrientationPatient = [float(v) for v in iop]
        ds.ImagePositionPatient = [float(ipp0[i] + k * step[i]) for i in range(3)]
        ds.PixelSpacing = [0.8, 0.8]
        ds.SliceThickness = float(np.linalg.norm(step))
        ds.Rows, ds.Columns = rows, cols
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.RescaleSlope, ds.RescaleIntercept = 1.0, -1024.0 if modality == "CT" else 0.0
        ds.PixelData = rng.integers(0, 2000, size=(rows, cols)).astype(np.uint16).tobytes()
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
