"""scikit-learn baseline for bench/bench_metrics.cpp: the same kind of data (40,000 cases x 5,569 classes,
prevalence 5% falling as a power law to ~0.02%, scores = sigmoid(N(0,1) + 2*label)), written as .npy so the
C++ benchmark can read the very same files (RADDIAG_BENCH_DIR), then timed with sklearn:
  * roc_auc_score + average_precision_score per class,
  * the reference's full per-class metrics (AUC, AP, precision_recall_curve max-F1, MCC at t*, roc_curve R@FPR),
  * case-level bootstrap with the reference metrics (resample rows, recompute).
sklearn is too slow for all classes x 1,000 rounds, so it runs on every STRIDE-th class and a few rounds
and the totals are extrapolated linearly (printed as such).
Usage: bench_metrics.py OUT_DIR [--cases 40000] [--classes 5569] [--stride 100] [--rounds 2]"""
import argparse
import json
import os
import resource
import time

import numpy as np
from sklearn.metrics import (average_precision_score, matthews_corrcoef, precision_recall_curve, roc_auc_score,
                             roc_curve)

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--cases", type=int, default=40000)
ap.add_argument("--classes", type=int, default=5569)
ap.add_argument("--stride", type=int, default=100)
ap.add_argument("--rounds", type=int, default=2)
ap.add_argument("--reuse", action="store_true", help="time the files already in OUT_DIR")
a = ap.parse_args()
n, C = a.cases, a.classes
os.makedirs(a.out, exist_ok=True)

rng = np.random.default_rng(1234)
if a.reuse:
    scores = np.load(os.path.join(a.out, "scores.npy"))
    labels = np.load(os.path.join(a.out, "labels.npy"))
    n, C = scores.shape
else:
    scores = np.empty((n, C), np.float32)
    labels = np.empty((n, C), np.uint8)
prev = 0.05 * np.arange(1, C + 1, dtype=np.float64) ** -0.65
for i0 in range(0, n if not a.reuse else 0, 2000):
    i1 = min(n, i0 + 2000)
    y = rng.random((i1 - i0, C)) < prev
    labels[i0:i1] = y
    scores[i0:i1] = 1 / (1 + np.exp(-(rng.standard_normal((i1 - i0, C), dtype=np.float32) + 2 * y)))
if not a.reuse:
    np.save(os.path.join(a.out, "scores.npy"), scores)
    np.save(os.path.join(a.out, "labels.npy"), labels)

cls = [c for c in range(0, C, a.stride) if 0 < labels[:, c].sum() < n]
cols = [(np.ascontiguousarray(labels[:, c]), np.ascontiguousarray(scores[:, c])) for c in cls]


def reference_metrics(y, s):
    auc = roc_auc_score(y, s)
    apv = average_precision_score(y, s)
    p, r, t = precision_recall_curve(y, s)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = 2 * p * r / (p + r)
    f1[np.isnan(f1)] = 0
    i = int(np.argmax(f1))
    mcc = matthews_corrcoef(y, s >= t[i])
    fpr, tpr, _ = roc_curve(y, s)
    rec = [tpr[np.argmin(np.abs(fpr - f))] for f in (0.01, 0.05, 0.1)]
    return auc, apv, f1[i], mcc, rec


t0, c0 = time.perf_counter(), time.process_time()
for y, s in cols:
    roc_auc_score(y, s)
    average_precision_score(y, s)
t_aucap, c_aucap = time.perf_counter() - t0, time.process_time() - c0

t0, c0 = time.perf_counter(), time.process_time()
for y, s in cols:
    reference_metrics(y, s)
t_ref, c_ref = time.perf_counter() - t0, time.process_time() - c0

brng = np.random.default_rng(0)
t0, c0 = time.perf_counter(), time.process_time()
for _ in range(a.rounds):
    idx = brng.integers(0, n, n)
    for y, s in cols:
        yy, ss = y[idx], s[idx]
        if 0 < yy.sum() < n:
            reference_metrics(yy, ss)
t_boot, c_boot = time.perf_counter() - t0, time.process_time() - c0

scale = C / len(cls)
res = {
    "cases": n, "classes": C, "classes_timed": len(cls),
    "sklearn_auc_ap_s_all_classes_extrapolated": t_aucap * scale,
    "sklearn_reference_metrics_s_all_classes_extrapolated": t_ref * scale,
    "sklearn_bootstrap_1000_rounds_s_extrapolated": t_boot / a.rounds * 1000 * scale,
    "cpu_s": {"auc_ap": c_aucap * scale, "reference_metrics": c_ref * scale,
              "bootstrap_1000_rounds": c_boot / a.rounds * 1000 * scale},
    "peak_rss_MiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "data_dir": a.out,
}
print(json.dumps(res, indent=1))
