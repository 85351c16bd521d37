#!/usr/bin/python3
"""Summarises the knowledge-head evidence runs (docs/knowledge-head.md) from `raddiag evaluate` outputs.

For each evaluation folder: macro AUC over the classes defined on the validation set, macro AUC over the
rarest trained classes (<= RARE training cases, defined on validation), and per held-out class the AUC
over all validation cases and within the source set of its positives (case-id prefix), which removes
the "which dataset is this" shortcut. Usage: knowledge_evidence_eval.py DATA_DIR EVAL_DIR... [--rare 3]
"""
import argparse, csv, json, os
import numpy as np
from sklearn.metrics import roc_auc_score

p = argparse.ArgumentParser()
p.add_argument("data")
p.add_argument("evals", nargs="+")
p.add_argument("--rare", type=int, default=3)
p.add_argument("--hold-out", nargs="*", default=["viral pneumonia", "malignant nodule"])
a = p.parse_args()

train_counts = {}
with open(os.path.join(a.data, "train", "labels.csv")) as f:
    for r in csv.DictReader(f):
        for l in r["labels"].split(";"):
            if l:
                train_counts[l] = train_counts.get(l, 0) + 1
val_ids = [r["case_id"] for r in csv.DictReader(open(os.path.join(a.data, "val", "labels.csv")))]
prefix = lambda cid: cid.split("_")[0].split("-")[0]

for d in a.evals:
    rows = list(csv.DictReader(open(os.path.join(d, "per_class.csv"))))
    S = np.load(os.path.join(d, "scores.npy"))
    Y = np.load(os.path.join(d, "labels.npy"))
    trained = [r for r in rows if r["name"] not in a.hold_out and r["defined"] == "1"]
    rare = [r for r in trained if train_counts.get(r["name"], 0) <= a.rare]
    out = {
        "eval": d,
        "macro_auc_trained": float(np.mean([float(r["auc"]) for r in trained])),
        "n_trained_defined": len(trained),
        "macro_auc_rare": float(np.mean([float(r["auc"]) for r in rare])) if rare else None,
        "rare_classes": {r["name"]: [train_counts.get(r["name"], 0), int(r["n_pos"]), round(float(r["auc"]), 3)] for r in rare},
    }
    for r in rows:
        if r["name"] in a.hold_out:
            j = int(r["index"])
            pos = [i for i in range(len(val_ids)) if Y[i, j] > 0.5]
            sets = {prefix(val_ids[i]) for i in pos}
            within = [i for i in range(len(val_ids)) if prefix(val_ids[i]) in sets]
            yw = Y[within, j]
            out["held_out_" + r["name"]] = {
                "auc_all_val": round(float(r["auc"]), 3), "n_pos": int(r["n_pos"]),
                "auc_within_source": round(float(roc_auc_score(yw, S[within, j])), 3) if 0 < yw.sum() < len(yw) else None,
                "n_within": len(within)}
    print(json.dumps(out, indent=1))
