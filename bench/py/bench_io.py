"""The Python side of bench_io: the same decodes with pydicom and nibabel, timed.

usage: bench_io.py [DATA] [SHARED_DATA]   (run make_bench_io_data.py first)
Each task produces the same float32 volume(s) as raddiag's readers: DICOM files read, sorted along the
slice normal, stacked, rescaled; NIfTI get_fdata(dtype=float32).
"""
import glob
import os
import tempfile
import sys
import time

import nibabel as nib
import numpy as np
import pydicom

data = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RADDIAG_BENCH_DATA", os.path.join(tempfile.gettempdir(), "raddiag_bench_io"))
shared = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "../../../shared/data")


def dicom_series(folder):
    dss = [pydicom.dcmread(p) for p in glob.glob(os.path.join(folder, "*.dcm"))]
    iop = np.array(dss[0].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    dss.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), normal)))
    vol = np.empty((dss[0].Rows, dss[0].Columns, len(dss)), np.float32, order="F")
    for k, d in enumerate(dss):
        vol[..., k] = d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)
    return vol


def nifti(path):
    return nib.load(path).get_fdata(dtype=np.float32)


def lidc():
    return [nifti(p) for p in sorted(glob.glob(os.path.join(shared, "real/lidc_nodule_ct3d/volumes/*.nii.gz")))]


def bench(name, fn, repeats=5):
    fn()  # warm-up (imports, page cache)
    times, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    print(f"{name:28s} wall median {np.median(times) * 1e3:8.1f} ms (min {min(times) * 1e3:.1f})   cpu median {np.median(cpu) * 1e3:8.1f} ms")


bench("dicom_series_512x512x64", lambda: dicom_series(os.path.join(data, "ct_series")))
bench("dicom_series_rle", lambda: dicom_series(os.path.join(data, "ct_series_rle")))
bench("nifti_gz_512x512x64", lambda: nifti(os.path.join(data, "ct_512x512x64.nii.gz")))
bench("nifti_lidc_111_volumes", lidc)
