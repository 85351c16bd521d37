"""Independent reference for the intra-/inter-anatomy negative analysis (RadDiag Fig. 4a): writes a probability
matrix (float32, with ties and values on bin edges), a label matrix (-1 = unknown) and each row's anatomy (empty
line = unknown), and what numpy/scikit-learn give for every class: the anatomies of its positives, the positive /
intra-anatomy negative / inter-anatomy negative groups (rows without anatomy in neither negative group), their
mean, median and numpy.histogram(p, 20, range=(0, 1)) on float64, roc_auc_score of positives vs each negative
group, and the means over classes. Usage: eval_negative_scores_reference.py OUT_DIR"""
import json
import os
import sys

import numpy as np
from sklearn.metrics import roc_auc_score

BINS = 20


def summary(p):
    p = p.astype(np.float64)
    return {"n": int(len(p)),
            "mean": float(np.mean(p)) if len(p) else None,
            "median": float(np.median(p)) if len(p) else None,
            "histogram": np.histogram(p, bins=BINS, range=(0.0, 1.0))[0].astype(int).tolist()}


def auc(pos, neg):
    if len(pos) == 0 or len(neg) == 0:
        return None
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    return float(roc_auc_score(y, np.r_[pos, neg].astype(np.float64)))


def mean_or_none(v):
    v = [x for x in v if x is not None]
    return (float(np.mean(v)) if v else None), len(v)


def main(out):
    rng = np.random.default_rng(2024)
    n, C = 300, 7
    anatomy_names = np.array(["Chest", "Head and neck", "Abdomen and pelvis", "Spine", ""])
    anatomy = anatomy_names[rng.choice(5, size=n, p=[0.35, 0.25, 0.2, 0.1, 0.1])]
    labels = np.zeros((n, C), dtype=np.int8)
    # Class 0: positives in chest and abdomen; class 1: never positive; class 2: positives only in cases without an
    # anatomy; class 3: positives in every anatomy (no inter-anatomy negative); class 4: chest only, some unknown
    # labels; classes 5, 6: head and neck, spine.
    home = {0: ["Chest", "Abdomen and pelvis"], 3: list(anatomy_names), 4: ["Chest"], 5: ["Head and neck"], 6: ["Spine"]}
    for c, where in home.items():
        rows = np.isin(anatomy, where)
        labels[rows, c] = rng.random(rows.sum()) < 0.3
    labels[anatomy == "", 2] = rng.random((anatomy == "").sum()) < 0.5
    labels[rng.choice(n, 25, replace=False), 4] = -1
    # Scores: intra negatives resemble positives more than inter negatives do; two decimals (ties, values exactly on
    # the bin edges 0.05 k), a few 0 and 1; float32 as the evaluation reads them.
    base = rng.random((n, C))
    for c, where in home.items():
        base[np.isin(anatomy, where), c] += 0.3
    base[labels == 1] += 0.4
    scores = np.clip(base / 1.7, 0, 1).round(2).astype(np.float32)
    scores[rng.choice(n, 6), rng.choice(C, 6)] = 0.0
    scores[rng.choice(n, 6), rng.choice(C, 6)] = 1.0
    np.save(os.path.join(out, "probabilities.npy"), scores)
    np.save(os.path.join(out, "labels.npy"), labels.astype(np.float32))
    with open(os.path.join(out, "anatomies.txt"), "w") as f:
        f.write("".join(a + "\n" for a in anatomy))

    expected = {"classes": [], "skipped": {}, "n_rows_unknown_anatomy": int((anatomy == "").sum()),
                "edges": np.linspace(0.0, 1.0, BINS + 1).tolist()}
    for c in range(C):
        y, s = labels[:, c], scores[:, c]
        pos = y == 1
        if not pos.any():
            expected["skipped"]["no positive case"] = expected["skipped"].get("no positive case", 0) + 1
            continue
        anats = sorted(set(anatomy[pos]) - {""})
        if not anats:
            key = "no positive case with a known anatomy"
            expected["skipped"][key] = expected["skipped"].get(key, 0) + 1
            continue
        neg = y == 0
        intra = neg & np.isin(anatomy, anats)
        inter = neg & (anatomy != "") & ~np.isin(anatomy, anats)
        expected["classes"].append({
            "index": c, "anatomies": anats,
            "positives": summary(s[pos]), "intra": summary(s[intra]), "inter": summary(s[inter]),
            "n_neg_unknown_anatomy": int((neg & (anatomy == "")).sum()),
            "n_unknown_label": int((y == -1).sum()),
            "auc_pos_vs_intra": auc(s[pos], s[intra]), "auc_pos_vs_inter": auc(s[pos], s[inter])})
    cl = expected["classes"]
    pooled = {}
    pooled["mean_auc_vs_intra"], pooled["n_auc_vs_intra"] = mean_or_none([k["auc_pos_vs_intra"] for k in cl])
    pooled["mean_auc_vs_inter"], pooled["n_auc_vs_inter"] = mean_or_none([k["auc_pos_vs_inter"] for k in cl])
    both = [k for k in cl if k["auc_pos_vs_intra"] is not None and k["auc_pos_vs_inter"] is not None]
    pooled["n_paired"] = len(both)
    pooled["paired_mean_auc_vs_intra"] = float(np.mean([k["auc_pos_vs_intra"] for k in both]))
    pooled["paired_mean_auc_vs_inter"] = float(np.mean([k["auc_pos_vs_inter"] for k in both]))
    pooled["n_paired_intra_below_inter"] = sum(k["auc_pos_vs_intra"] < k["auc_pos_vs_inter"] for k in both)
    for g in ["positives", "intra", "inter"]:
        with_group = [k[g] for k in cl if k[g]["n"] > 0]
        pooled["mean_prob_" + g] = float(np.mean([k["mean"] for k in with_group]))
        pooled["mean_share_" + g] = np.mean([np.array(k["histogram"]) / k["n"] for k in with_group], axis=0).tolist()
    expected["pooled"] = pooled
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
