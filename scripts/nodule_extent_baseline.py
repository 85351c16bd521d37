#!/usr/bin/env python3
"""How much of the LIDC nodule labels the crops' physical extent alone predicts (docs/real-data.md).

A logistic regression per class on each case's crop geometry (log of the largest in-plane field and of the
largest and smallest slice extent in mm over its first N nodule crops, and the number of crops), read from
the source's manifest (shape_xyz x spacing_mm), fitted on the training part of real-train and scored on the
recipe's validation split and on the external set. N = 2 is what a model with two scan slots sees.

Usage: nodule_extent_baseline.py VAL_CASES_JSON [DATA_DIR] [--first N]
"""
import argparse
import collections
import csv
import json
import os

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

CLASSES = ["benign nodule", "malignant nodule", "subsolid nodule", "spiculated nodule", "calcified nodule"]


def load(folder):
    extents = collections.defaultdict(list)
    with open(os.path.join(folder, "manifest.csv")) as f:
        for r in csv.DictReader(f):
            shape = [int(v) for v in r["shape_xyz"].split("x")]
            spacing = [float(v) for v in r["spacing_mm"].split("x")]
            extents[r["case_id"]].append([a * b for a, b in zip(shape, spacing)])
    with open(os.path.join(folder, "labels.csv")) as f:
        labels = {r["case_id"]: set(r["labels"].split(";")) for r in csv.DictReader(f)}
    return extents, labels


def features(extents, ids, first):
    rows = []
    for c in ids:
        a = np.array(extents[c][:first])
        rows.append([np.log(a[:, 0].max()), np.log(a[:, 2].max()), np.log(a[:, 2].min()), len(extents[c])])
    return np.array(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("val_cases")
    ap.add_argument("data", nargs="?", default="../shared/data")
    ap.add_argument("--first", type=int, default=2)
    a = ap.parse_args()
    train_ext, train_lab = load(os.path.join(a.data, "real-train/lidc_nodule_ct3d"))
    real_ext, real_lab = load(os.path.join(a.data, "real/lidc_nodule_ct3d"))
    with open(a.val_cases) as f:
        val_ids = sorted(k for k in json.load(f) if k in train_ext)
    train_ids = sorted(set(train_ext) - set(val_ids))
    print("| split | cases | " + " | ".join(CLASSES) + " | macro AUC |")
    print("|---" * (len(CLASSES) + 3) + "|")
    for name, ids, ext, lab in [("validation", val_ids, train_ext, train_lab), ("external", sorted(real_ext), real_ext, real_lab)]:
        aucs = []
        for c in CLASSES:
            y = np.array([c in train_lab[i] for i in train_ids])
            model = LogisticRegression(max_iter=2000).fit(features(train_ext, train_ids, a.first), y)
            yt = np.array([c in lab[i] for i in ids])
            aucs.append(roc_auc_score(yt, model.predict_proba(features(ext, ids, a.first))[:, 1]))
        print(f"| {name} | {len(ids)} | " + " | ".join(f"{v:.3f}" for v in aucs) + f" | {np.mean(aucs):.3f} |")


if __name__ == "__main__":
    main()
