"""Inputs for the `raddiag metrics` end-to-end test, written by numpy, with the macro means scikit-learn
gives (classes without both labels left out; R@FPR by the reference rule). Also malformed inputs.
Usage: eval_cli_cases.py OUT_DIR"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eval_sklearn_reference import FPRS, class_metrics  # noqa: E402


def macro(s, y, groups=None):
    per = [class_metrics(y[:, c], s[:, c]) for c in range(y.shape[1])]
    def mean(cls):
        d = [per[c] for c in cls if per[c]["defined"]]
        if not d:
            return None
        out = {k: float(np.mean([m[k] for m in d])) for k in ["auc", "ap", "f1", "mcc", "acc", "tpr", "fpr"]}
        out["recall_at_fpr"] = {str(f): float(np.mean([m["recall_at_fpr"][i] for m in d])) for i, f in enumerate(FPRS)}
        out["n_defined"] = len(d)
        return out
    res = {"macro": mean(range(y.shape[1])), "per_class": per}
    if groups is not None:
        res["groups"] = {name: mean([c for c in range(y.shape[1]) if groups[c] == name]) for name in ["head", "medium", "tail"]}
    return res


out = sys.argv[1]
rng = np.random.default_rng(99)
n, C = 500, 10
y = (rng.random((n, C)) < np.geomspace(0.3, 0.01, C)).astype(np.uint8)
y[:, 9] = 0  # undefined class
p = (1 / (1 + np.exp(-(rng.normal(size=(n, C)) + 1.5 * y)))).astype(np.float32)
np.save(os.path.join(out, "scores.npy"), p)
np.save(os.path.join(out, "labels.npy"), y)
np.save(os.path.join(out, "labels_bool_fortran.npy"), np.asfortranarray(y.astype(bool)))
counts = np.array([500, 300, 150, 101, 100, 60, 30, 29, 5, 0], np.int64)
np.save(os.path.join(out, "train_counts.npy"), counts)
groups = ["head" if c > 100 else "tail" if c < 30 else "medium" for c in counts]
# logits of the same problem (values outside [0,1] -> auto-detected); the reference's sigmoid in float32
logit = (rng.normal(size=(n, C)) * 3 + 2 * y).astype(np.float32)
np.save(os.path.join(out, "logits.npy"), logit)
sig = (1 / (1 + np.exp(-np.clip(logit.astype(np.float64), -60, 60)))).astype(np.float32)
expected = {"probabilities": macro(p, y, groups), "logits": macro(sig, y)}
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f)
# malformed inputs
np.save(os.path.join(out, "bad_shape_labels.npy"), y[:, :5])
bad = p.copy(); bad[3, 4] = np.nan
np.save(os.path.join(out, "nan_scores.npy"), bad)
inf = p.copy(); inf[7, 1] = np.inf
np.save(os.path.join(out, "inf_scores.npy"), inf)
y2 = y.astype(np.int32); y2[10, 2] = 2
np.save(os.path.join(out, "labels_two.npy"), y2)
np.save(os.path.join(out, "int_scores.npy"), (p * 100).astype(np.int32))
np.save(os.path.join(out, "scores_3d.npy"), p.reshape(n, 2, 5))
with open(os.path.join(out, "not_npy.npy"), "wb") as f:
    f.write(b"hello")
