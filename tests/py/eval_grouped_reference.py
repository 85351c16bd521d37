"""Independent reference for within-dataset metrics: writes a score matrix, a label matrix (-1 = unknown)
and the dataset of every row, and what scikit-learn says when run on each dataset's rows alone:
per-class roc_auc_score / average_precision_score / max F1 (precision_recall_curve), classes without
both labels (after dropping unknown entries) left out, each dataset's macro means and the mean of those
over datasets. Usage: eval_grouped_reference.py OUT_DIR"""
import json
import os
import sys

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score


def max_f1(y, s):
    p, r, _ = precision_recall_curve(y, s)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = 2 * p * r / (p + r)
    f1[np.isnan(f1)] = 0
    return float(f1.max())


def main(out):
    rng = np.random.default_rng(1313)
    n, C = 240, 6
    names = np.array(["brain", "chest", "us"])
    groups = names[rng.choice(3, size=n, p=[0.45, 0.35, 0.2])]
    labels = np.zeros((n, C), dtype=np.int8)
    # Each dataset labels its own classes; class 5 is positive only in "chest", class 4 never in "us".
    own = {"brain": [0, 1, 2], "chest": [2, 3, 4, 5], "us": [0, 1, 3]}
    for i in range(n):
        for c in own[groups[i]]:
            labels[i, c] = rng.random() < 0.35
    # Unknown entries: "us" does not know class 3 for a third of its cases.
    us = np.where(groups == "us")[0]
    labels[us[: len(us) // 3], 3] = -1
    # Scores carry signal and ties (two decimals), float32 as the evaluation reads them.
    scores = (0.5 * (labels == 1) + rng.random((n, C))).round(2).astype(np.float32)
    np.save(os.path.join(out, "scores.npy"), scores)
    np.save(os.path.join(out, "labels.npy"), labels.astype(np.float32))
    with open(os.path.join(out, "groups.txt"), "w") as f:
        f.write("".join(g + "\n" for g in groups))
    with open(os.path.join(out, "groups.csv"), "w") as f:
        f.write("row,case_id,status,reason,dataset\n")
        f.write("".join(f"{i},case{i},ok,,{g}\n" for i, g in enumerate(groups)))
    expected = {"groups": {}}
    for g in sorted(set(groups)):
        rows = groups == g
        per_class, macro = [], {"auc": [], "ap": [], "f1": []}
        for c in range(C):
            y, s = labels[rows, c], scores[rows, c].astype(np.float64)
            keep = y >= 0
            y, s = y[keep], s[keep]
            if len(y) == 0 or y.min() == y.max():
                per_class.append({"defined": False})
                continue
            m = {"defined": True, "auc": float(roc_auc_score(y, s)), "ap": float(average_precision_score(y, s)),
                 "f1": max_f1(y, s)}
            per_class.append(m)
            for k in macro:
                macro[k].append(m[k])
        expected["groups"][g] = {"n_cases": int(rows.sum()), "n_defined": len(macro["auc"]), "per_class": per_class,
                                 **{"macro_" + k: float(np.mean(v)) for k, v in macro.items()}}
    for k in ["auc", "ap", "f1"]:
        expected["mean_" + k] = float(np.mean([v["macro_" + k] for v in expected["groups"].values()]))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
