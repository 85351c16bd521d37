"""A real CT volume as a DICOM series: the voxels of a LIDC-IDRI NIfTI crop (real pixels, int16 HU) written
slice by slice with pydicom as CT Image Storage files with generated headers (patient, study, series
identity; axial geometry from the NIfTI voxel size). Files get shuffled names, so the reader must order
them by position. Usage:
  lidc_dicom_series.py NII OUTDIR PATIENT_ID STUDY_UID|new SERIES_UID|new [SLICES]
writes OUTDIR/ct_*.dcm and OUTDIR/identity.json (the identity and the SOP Instance UID of slice k in
reading order, i.e. by increasing Image Position (Patient) z). SLICES keeps only the first n slices."""
import json
import os
import sys
import warnings

import nibabel as nib
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

warnings.simplefilter("ignore")
nii, out, patient_id, study_uid, series_uid = sys.argv[1:6]
limit = int(sys.argv[6]) if len(sys.argv) > 6 else None
img = nib.load(nii)
vol = np.asarray(img.dataobj).astype(np.int16)
zooms = [float(z) for z in img.header.get_zooms()[:3]]
if limit:
    vol = vol[:, :, :limit]
study_uid = generate_uid() if study_uid == "new" else study_uid
series_uid = generate_uid() if series_uid == "new" else series_uid
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(abs(hash(patient_id)) % (2 ** 32))
identity = {"patient_id": patient_id, "patient_name": "Test^" + patient_id, "patient_birth_date": "19550612", "patient_sex": "M",
            "study_uid": study_uid, "accession": "A" + patient_id[-6:], "study_date": "20240315", "study_time": "083000",
            "study_description": "CT CHEST (LIDC crop)", "referring": "Referrer^Rita", "study_id": "77", "series_uid": series_uid,
            "sop_class": "1.2.840.10008.5.1.4.1.1.2", "sop_instance_uids": [], "rows": int(vol.shape[0]), "cols": int(vol.shape[1])}
for k in range(vol.shape[2]):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = identity["sop_class"]
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = identity["sop_class"]
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.PatientName = patient_id, identity["patient_name"]
    ds.PatientBirthDate, ds.PatientSex = identity["patient_birth_date"], identity["patient_sex"]
    ds.StudyInstanceUID, ds.AccessionNumber = study_uid, identity["accession"]
    ds.StudyDate, ds.StudyTime, ds.StudyDescription = identity["study_date"], identity["study_time"], identity["study_description"]
    ds.ReferringPhysicianName, ds.StudyID = identity["referring"], identity["study_id"]
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.Modality, ds.BodyPartExamined = series_uid, 2, "CT", "CHEST"
    ds.InstanceNumber = k + 1
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.ImagePositionPatient = [-100.0, -120.0, round(-170.0 + k * zooms[2], 4)]
    ds.PixelSpacing = [zooms[0], zooms[1]]
    ds.SliceThickness = zooms[2]
    ds.Rows, ds.Columns = vol.shape[0], vol.shape[1]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = 1.0, 0.0
    ds.PixelData = np.ascontiguousarray(vol[:, :, k]).tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(os.path.join(out, f"ct_{rng.integers(1e9):09d}.dcm"), write_like_original=False)
    identity["sop_instance_uids"].append(str(ds.SOPInstanceUID))
with open(os.path.join(out, "identity.json"), "w") as f:
    json.dump(identity, f, indent=1)
