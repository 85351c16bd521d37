"""The Python side of bench_ingest: the same files to the same tensors with pydicom / nibabel / numpy and
PyTorch's F.interpolate (Debian python3-torch), as the official RadDiag loaders do it.
Importable (compare_ingest.py uses TASKS) or runnable: bench_ingest.py [BENCH_DATA] [SHARED_DATA]."""
import glob
import json
import os
import sys
import tempfile

import nibabel as nib
import numpy as np
import pydicom
import torch
import torch.nn.functional as F

torch.set_num_threads(1)  # the C++ side preprocesses on one thread too

S, D, N = 256, 32, 4
CAPS = {"CT": 3, "MRI": 3, "X-ray": 2}
DEMO_PREFIX = "/home/qiaoyuzheng/MedVisionDemo/DataPath/"  # the official demo JSON's absolute paths


def resample(a):
    """(H, W, d) float32 -> (S, S, min(d, D)) as the official resample_image."""
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1).unsqueeze(1)
    d = t.shape[0]
    if not (t.shape[2] == S and t.shape[3] == S and d <= D):
        t = F.interpolate(t, size=(S, S), mode="bilinear", align_corners=False)
        if d > D:
            t = t[torch.arange(0, d, d / D).long()[:D]]
    return t.squeeze(1).permute(1, 2, 0)


def single_tensor(a):
    img = resample(a)
    img = (img - img.min()) / (img.max() - img.min())
    out = torch.zeros((1, S, S, D))
    out[0, :, :, : img.shape[-1]] = img
    return out


def dicom_series(folder):
    dss = [pydicom.dcmread(p) for p in glob.glob(os.path.join(folder, "*.dcm"))]
    iop = np.array(dss[0].ImageOrientationPatient, float)
    normal = np.cross(iop[:3], iop[3:])
    dss.sort(key=lambda d: float(np.dot(np.array(d.ImagePositionPatient, float), normal)))
    vol = np.empty((dss[0].Rows, dss[0].Columns, len(dss)), np.float32)
    for k, d in enumerate(dss):
        vol[..., k] = d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept)
    return vol


def early_case(case, data_dir):
    """The official early-fusion tensors of one RP3D case (JSON order, first images)."""
    images = torch.zeros((N, 1, S, S, D))
    cnt = 0
    for modality, sample in zip(case["Modalities"], case["Samples"]):
        if cnt >= N:
            break
        paths = sample["image_data_path"][: min(CAPS.get(modality, 1), N - cnt)]
        block = torch.zeros((len(paths), S, S, D))
        for j, p in enumerate(paths):
            a = np.load(p.replace(DEMO_PREFIX, data_dir + "/"))
            r = resample(a)
            block[j, :, :, : r.shape[-1]] = r
        block = (block - block.min()) / (block.max() - block.min())
        images[cnt: cnt + len(paths), 0] = block
        cnt += len(paths)
    return images


def tasks(bench_data, shared):
    demo = os.path.join(shared, "rp3d-demo/RP3D_Demo/DataPath")
    lidc = sorted(glob.glob(os.path.join(shared, "real/lidc_nodule_ct3d/volumes/*.nii.gz")))

    def demo_cases():
        cases = json.load(open(os.path.join(demo, "demoData.json")))
        n = 0
        for c in cases.values():
            paths = [p.replace(DEMO_PREFIX, demo + "/") for s in c["Samples"] for p in s["image_data_path"]]
            if all(os.path.exists(p) for p in paths):  # this copy lacks some large volumes
                early_case(c, demo)
                n += 1
        return n

    def lidc_all():
        for p in lidc:
            single_tensor(nib.load(p).get_fdata(dtype=np.float32))
        return len(lidc)

    def series():
        single_tensor(dicom_series(os.path.join(bench_data, "ct_series")))
        return 1

    # name -> (function returning the number of items, C++ benchmark name)
    return {"dicom_series_512x512x64": (series, "BM_DicomSeriesToTensor"),
            "lidc_111_nifti_volumes": (lidc_all, "BM_LidcToTensors"),
            "rp3d_demo_cases": (demo_cases, "BM_DemoCasesToTensors")}


if __name__ == "__main__":
    import time
    data = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RADDIAG_BENCH_DATA", os.path.join(tempfile.gettempdir(), "raddiag_bench_io"))
    shared = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "../../../shared/data")
    for name, (fn, _) in tasks(data, shared).items():
        fn()
        t = time.perf_counter()
        n = fn()
        print(f"{name:26s} {(time.perf_counter() - t) * 1e3 / n:9.2f} ms/item")
