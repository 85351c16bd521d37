"""scripts/real_sets_tables.py's rank AUC (used by the paired ensemble bootstrap) against scikit-learn's
roc_auc_score on random scores with many ties; prints CHECK PASSED. Exit 77 (skip) without numpy/sklearn."""
import os
import sys

try:
    import numpy as np
    from sklearn.metrics import roc_auc_score
except ImportError:
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
from real_sets_tables import rank_auc  # noqa: E402

rng = np.random.default_rng(3)
worst = 0.0
for trial in range(200):
    n = int(rng.integers(2, 60))
    y = rng.integers(0, 2, n)
    if y.min() == y.max():
        y[0] = 1 - y[0]
    s = rng.integers(0, 5, n).astype(float) if trial % 2 else rng.normal(size=n)  # ties in every other trial
    worst = max(worst, abs(rank_auc(y, s) - roc_auc_score(y, s)))
print(f"largest |rank_auc - sklearn| over 200 trials: {worst:.2e}")
if worst > 1e-12:
    sys.exit(1)
print("CHECK PASSED")
