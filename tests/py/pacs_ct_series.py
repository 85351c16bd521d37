"""A real CT volume (LIDC-IDRI NIfTI, int16 HU) written as a DICOM CT series with pydicom: real pixels,
generated headers (patient/study/series modules, UIDs, geometry). Used by the PACS tests to feed Orthanc.
Usage:
  pacs_ct_series.py series VOLUME.nii.gz OUTDIR   -> OUTDIR/*.dcm; prints JSON {patient_id, study, series, sops}
  pacs_ct_series.py extra VOLUME.nii.gz OUTFILE STUDY_UID PATIENT_ID
        -> one more CT instance (middle slice) in a new series of that study; prints JSON {study, series, sop}"""
import json
import os
import sys
import warnings

import nibabel as nib
import numpy as np
from pydicom.uid import generate_uid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dicom_slice import series_slice  # noqa: E402

warnings.simplefilter("ignore")


def load(path):
    img = nib.load(path)
    vol = np.asarray(img.dataobj).astype(np.int16)  # x, y, z in HU
    zooms = [float(z) for z in img.header.get_zooms()[:3]]
    return vol, zooms


def slice_ds(vol, zooms, k, study, series, patient_id, series_number, description, frame_of_reference):
    pixels = np.ascontiguousarray(vol[:, :, k].T)  # rows = y, columns = x
    ds = series_slice(pixels, "CT", series, study, k + 1, [1, 0, 0, 0, 1, 0], [0.0, 0.0, k * zooms[2]],
                      [zooms[1], zooms[0]], zooms[2])
    ds.PatientID = patient_id
    ds.PatientName = "LIDC^" + patient_id.replace("-", "")
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyDate = "20260101"
    ds.StudyTime = "120000"
    ds.AccessionNumber = "RADDIAG1"
    ds.StudyID = "1"
    ds.StudyDescription = "raddiag PACS test (LIDC-IDRI volume)"
    ds.ReferringPhysicianName = ""
    ds.SeriesNumber = series_number
    ds.SeriesDescription = description
    ds.BodyPartExamined = "CHEST"
    ds.FrameOfReferenceUID = frame_of_reference
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition = "FFS"
    ds.Manufacturer = ""
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.KVP = ""
    ds.AcquisitionNumber = ""
    return ds


def main():
    mode, volume = sys.argv[1], sys.argv[2]
    vol, zooms = load(volume)
    if mode == "series":
        out = sys.argv[3]
        os.makedirs(out, exist_ok=True)
        patient_id = os.path.basename(volume).split("_")[0]
        study, series = generate_uid(), generate_uid()
        sops = []
        frame_of_reference = generate_uid()
        for k in range(vol.shape[2]):
            ds = slice_ds(vol, zooms, k, study, series, patient_id, 1, "CT from LIDC-IDRI", frame_of_reference)
            ds.save_as(os.path.join(out, f"slice_{k:03d}.dcm"), write_like_original=False)
            sops.append(str(ds.SOPInstanceUID))
        print(json.dumps({"patient_id": patient_id, "study": str(study), "series": str(series), "sops": sops}))
    elif mode == "extra":
        out, study, patient_id = sys.argv[3], sys.argv[4], sys.argv[5]
        series = generate_uid()
        ds = slice_ds(vol, zooms, vol.shape[2] // 2, study, series, patient_id, 99, "raddiag STOW test", generate_uid())
        ds.save_as(out, write_like_original=False)
        print(json.dumps({"study": study, "series": str(series), "sop": str(ds.SOPInstanceUID)}))
    else:
        sys.exit("unknown mode " + mode)


main()
