"""Independent reference for the evaluation layer: writes score/label matrices (.npy) and, per class,
what scikit-learn says: roc_auc_score, average_precision_score, the max-F1 threshold of
precision_recall_curve (NaN -> 0, first argmax = lowest threshold on ties), matthews_corrcoef /
accuracy / TPR / FPR at s >= t*, and recall at FPR f by the RadDiag rule (roc_curve with
drop_intermediate=True, i = argmin |fpr - f|, first on ties, tpr[i]). Also the metrics at a threshold
chosen on a separate validation matrix. Usage: eval_sklearn_reference.py OUT_DIR"""
import json
import os
import sys

import numpy as np
from sklearn.metrics import (accuracy_score, average_precision_score, f1_score, matthews_corrcoef,
                             precision_recall_curve, roc_auc_score, roc_curve)

FPRS = [0.01, 0.05, 0.1, 0.2, 0.5]


def max_f1_threshold(y, s):
    p, r, t = precision_recall_curve(y, s)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = 2 * p * r / (p + r)
    f1[np.isnan(f1)] = 0
    i = int(np.argmax(f1))
    return float(f1[i]), float(t[i])


def at_threshold(y, s, thr):
    pred = (s >= thr).astype(np.uint8)
    P = int(y.sum())
    N = len(y) - P
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    return dict(mcc=float(matthews_corrcoef(y, pred)), acc=float(accuracy_score(y, pred)),
                f1_at=float(f1_score(y, pred, zero_division=0)), tpr=tp / P, fpr=fp / N)


def class_metrics(y, s, val_thr=None):
    if y.min() == y.max():
        return dict(defined=False)
    out = dict(defined=True, auc=float(roc_auc_score(y, s)), ap=float(average_precision_score(y, s)))
    f1, thr = max_f1_threshold(y, s)
    out.update(f1=f1, threshold=thr)
    out.update(at_threshold(y, s, thr))
    fpr, tpr, _ = roc_curve(y, s)
    out["recall_at_fpr"] = [float(tpr[int(np.argmin(np.abs(fpr - f)))]) for f in FPRS]
    if val_thr is not None and not np.isnan(val_thr):
        v = at_threshold(y, s, val_thr)
        out["val"] = dict(threshold=float(val_thr), f1=v["f1_at"], mcc=v["mcc"], acc=v["acc"], tpr=v["tpr"], fpr=v["fpr"])
    return out


def make_cases(rng):
    cases = {}
    # random: long-tailed prevalences, continuous scores correlated with labels
    n, C = 300, 24
    y = (rng.random((n, C)) < np.geomspace(0.4, 0.01, C)).astype(np.uint8)
    s = (rng.random((n, C)) + 0.7 * y * rng.random((n, C))).astype(np.float32) / 1.7
    cases["random"] = (s, y)
    # tied: scores rounded to one decimal (many ties, mixed runs of positives and negatives)
    n, C = 200, 16
    y = (rng.random((n, C)) < np.linspace(0.05, 0.5, C)).astype(np.uint8)
    s = np.round(rng.random((n, C)) * 0.6 + 0.4 * y, 1).astype(np.float32)
    cases["tied"] = (s, y)
    # coarse ties: only 3 distinct scores, exercises drop_intermediate on diagonal runs
    n, C = 120, 8
    y = (rng.random((n, C)) < 0.3).astype(np.uint8)
    s = rng.integers(0, 3, size=(n, C)).astype(np.float32) / 2
    cases["coarse"] = (s, y)
    # tiny: n = 2 and n = 3
    cases["tiny2"] = (np.array([[0.2, 0.9, 0.5], [0.7, 0.1, 0.5]], np.float32), np.array([[0, 1, 1], [1, 0, 0]], np.uint8))
    cases["tiny3"] = (np.array([[0.2, 0.3, 0.5, 0.1], [0.7, 0.3, 0.5, 0.4], [0.4, 0.3, 0.1, 0.4]], np.float32),
                      np.array([[0, 1, 1, 0], [1, 0, 0, 1], [1, 1, 0, 0]], np.uint8))
    # degenerate: all positive, all negative, constant scores, perfect, inverted
    n = 40
    y_mixed = (np.arange(n) % 3 == 0).astype(np.uint8)
    s = np.stack([rng.random(n), rng.random(n), np.full(n, 0.5), y_mixed * 0.5 + 0.25, 1 - y_mixed * 0.5 - 0.25], 1).astype(np.float32)
    y = np.stack([np.ones(n), np.zeros(n), y_mixed, y_mixed, y_mixed], 1).astype(np.uint8)
    cases["degenerate"] = (s, y)
    # sparse: big negatives, few positives, so R@0.01 lands between points
    n, C = 2000, 6
    y = (rng.random((n, C)) < np.array([0.002, 0.005, 0.01, 0.02, 0.05, 0.1])).astype(np.uint8)
    y[0, :] = 1
    s = (rng.normal(size=(n, C)) + 1.5 * y).astype(np.float32)
    cases["sparse"] = (s, y)
    return cases


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(20240517)
    names = []
    for name, (s, y) in make_cases(rng).items():
        # validation set of the same shape for the fixed-threshold rule
        vy = y[rng.permutation(len(y))]
        vs = np.clip(s[rng.permutation(len(s))] + rng.normal(scale=0.05, size=s.shape).astype(np.float32), -5, 5).astype(np.float32)
        val_thr = [max_f1_threshold(vy[:, c], vs[:, c])[1] if vy[:, c].min() != vy[:, c].max() else float("nan")
                   for c in range(y.shape[1])]
        np.save(os.path.join(out, name + ".scores.npy"), s)
        np.save(os.path.join(out, name + ".labels.npy"), y)
        np.save(os.path.join(out, name + ".val_scores.npy"), vs)
        np.save(os.path.join(out, name + ".val_labels.npy"), vy)
        expected = [class_metrics(y[:, c], s[:, c], val_thr[c]) for c in range(y.shape[1])]
        with open(os.path.join(out, name + ".expected.json"), "w") as f:
            json.dump(dict(per_class=expected, val_thresholds=[None if np.isnan(t) else t for t in val_thr]), f)
        names.append(name)
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(names) + "\n")


if __name__ == "__main__":
    main()
