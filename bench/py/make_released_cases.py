#!/usr/bin/env python3
"""An RP3D-JSON case set at the released geometry (256x256, depth <= 32) built from real images.

For timing the official implementation against `raddiag predict` on the same cases. The official early loader
copies each stored array into a (256,256,32) buffer without resizing (spec 1.4/1.6), so the images are stored
already at 256x256, as the official data are:

* every image is float32 (256, 256, d), Fortran order (like the official .npy files);
* CT volumes (LIDC-IDRI nodule crops, NIfTI) keep their HU values and their d <= 32 slices;
* 2D images (chest X-ray, brain MRI slice, lung ultrasound frame) are 8-bit grayscale on a 0-255 scale,
  stored as (256, 256, 3) with 3 identical channels, like the official 2D data;
* resizing: centre square crop (the shorter side), then every slice resized to 256x256 with
  torch.nn.functional.interpolate(mode="bilinear", align_corners=False) -- the resize the official late loader
  uses; no intensity change;
* key slice files: int64 (1,), the middle slice for volumes, 0 for 2D images.

Each case holds at most 4 kept images, so which images the loader keeps does not depend on its sample order
(only then are an official-style shuffling loader and another loader comparable case by case). Samples of one
case may come from different source patients (a CT volume with a chest X-ray of another patient): this is a
timing set, not a clinical one. `articles` are the source dataset's labels (absent from the released label
dictionary, whose names are synthetic: the labels are all zero, which does not affect the logits).

  make_released_cases.py --real ../shared/data/real --out DIR [--cases K]
writes DIR/cases.json (paths relative to DIR), DIR/data/*.npy, DIR/key/*.npy.
"""
import argparse
import csv
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

SIZE = 256
DEPTH = 32

# (case id, [(modality, [(dataset folder, file within it), ...]), ...]); the first rows of each dataset's
# manifest.csv for these source cases.
CASES = [
    ("xray-single", [("X-ray", [("covid_cxr_ct", "covid_p100", 1)])]),
    ("xray-pair-of-four", [("X-ray", [("covid_cxr_ct", "covid_p31", 4)])]),
    ("ct3-plus-xray", [("CT", [("lidc_nodule_ct3d", "LIDC-IDRI-0994", 3)]),
                       ("X-ray", [("covid_cxr_ct", "covid_p281", 1)])]),
    ("ct30-plus-xray-pair-of-three", [("CT", [("lidc_nodule_ct3d", "LIDC-IDRI-0734", 1)]),
                                      ("X-ray", [("covid_cxr_ct", "covid_p282", 3)])]),
    ("mri-single", [("MRI", [("brain_tumor_mri", "bt_Tr-gl_1006", 1)])]),
    ("ultrasound-single", [("Ultrasound", [("lung_ultrasound_pocus", "pocus_p36", 1)])]),
]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def resize_slices(vol):
    """(h, w, d) float32 -> (256, 256, d): centre square crop, bilinear per slice."""
    h, w, _ = vol.shape
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = torch.from_numpy(np.ascontiguousarray(vol[top:top + s, left:left + s, :]))
    x = crop.permute(2, 0, 1).unsqueeze(1)  # (d, 1, s, s)
    x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return x.squeeze(1).permute(1, 2, 0).numpy().astype(np.float32)


def load_image(path):
    """-> (h, w, d) float32 raw intensities; 2D images as 3 identical channels."""
    if path.endswith(".nii.gz") or path.endswith(".nii"):
        import nibabel as nib
        vol = np.asarray(nib.load(path).get_fdata(), dtype=np.float32)  # HU, scaling applied
        vol = vol.transpose(1, 0, 2)  # NIfTI (x, y, z) -> rows = y, columns = x
        if vol.shape[2] > DEPTH:
            raise ValueError(f"{path}: {vol.shape[2]} slices > depth {DEPTH}")
        return vol
    from PIL import Image
    g = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
    return np.repeat(g[:, :, None], 3, axis=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", required=True, help="shared/data/real")
    ap.add_argument("--out", required=True)
    ap.add_argument("--cases", type=int, default=len(CASES), help="only the first K cases")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, "data"), exist_ok=True)
    os.makedirs(os.path.join(a.out, "key"), exist_ok=True)
    manifests, labels = {}, {}
    out_cases = {}
    for case_no, (case_id, samples) in enumerate(CASES[:a.cases]):
        name = f"released-{case_no + 1:02d}-{case_id}"
        link = f"bench://{name}"
        case = {"Modalities": [], "Samples": [], "key_slice": [], "Anatomies": [], "Anatomy": "Chest"}
        for s_no, (modality, sources) in enumerate(samples):
            data_paths, key_paths, origins, keys, articles = [], [], [], {}, []
            for folder, source_case, count in sources:
                if folder not in manifests:
                    manifests[folder] = read_csv(os.path.join(a.real, folder, "manifest.csv"))
                    labels[folder] = {r["case_id"]: r["labels"] for r in
                                      read_csv(os.path.join(a.real, folder, "labels.csv"))}
                rows = [r for r in manifests[folder] if r["case_id"] == source_case][:count]
                if len(rows) < count:
                    raise ValueError(f"{folder}/{source_case}: {len(rows)} files, {count} wanted")
                articles = labels[folder][source_case].split(";")
                for row in rows:
                    i = len(data_paths)
                    img = resize_slices(load_image(os.path.join(a.real, folder, row["file"])))
                    key = img.shape[2] // 2 if modality == "CT" else 0
                    rel = f"data/{name}_s{s_no}_i{i}.npy"
                    rel_key = f"key/{name}_s{s_no}_i{i}.npy"
                    np.save(os.path.join(a.out, rel), np.asfortranarray(img))
                    np.save(os.path.join(a.out, rel_key), np.array([key], dtype=np.int64))
                    data_paths.append(rel)
                    key_paths.append(rel_key)
                    origins.append(f"{folder}/{row['file']}")
                    keys[f"image_{i}"] = key
            anatomy = "Head and Neck" if modality == "MRI" else "Chest"
            n = len(data_paths)
            case["Modalities"].append(modality)
            case["key_slice"].append(keys)
            case["Anatomies"].append(anatomy)
            case["Anatomy"] = anatomy
            case["Samples"].append({
                "image_path": origins, "image": origins,
                "image_modality": [modality] * n, "image_modalitys": [modality] * n,
                "plane_projection": ["Axial" if modality in ("CT", "MRI") else "Frontal"] * n,
                "aux_modality": [None] * n,
                "qa_list": [{"question": "Which modality is this?", "answer": modality}],
                "image_caption": f"Timing case {name}, sample {s_no}, from {', '.join(origins)}.",
                "link": link, "title": f"Timing case {name}",
                "pre": "Not applicable (timing set).", "pat": "Patient Data  Age: unknown  Gender: unknown",
                "case_discussion": "Real images resized to the released geometry for timing.",
                "articles": articles, "finding": "Not applicable.", "impression": "Not applicable.",
                "anatomy": anatomy, "icd10s": [], "icd10news": [],
                "npy_path": data_paths[0], "key_npy_path": key_paths[0],
                "image_data_path": data_paths, "image_key_path": key_paths,
            })
        out_cases[link] = case
    with open(os.path.join(a.out, "cases.json"), "w") as f:
        json.dump(out_cases, f, indent=1)
    print(f"{len(out_cases)} cases -> {a.out}/cases.json")


if __name__ == "__main__":
    main()
