"""Pools the held-out predictions of a K-fold cross-validation (data.folds) into one evaluation of every case.

Usage: pool_folds.py OUT_DIR FOLD_EVAL_DIR...

Each FOLD_EVAL_DIR is `raddiag evaluate` of fold k's model on fold k's validation cases (its
RUN/val_cases.json). The folds' validation parts are disjoint and cover the training sets, so their rows
together score every case once, each by a model that never trained on it. Writes OUT_DIR/scores.npy,
labels.npy, row_cases.txt, row_datasets.txt (rows sorted by case id, so two cross-validations of the same
split pair row by row) and label_dict.json, for `raddiag metrics`. Only classes that every fold's model
scores are kept (a class absent from one fold's training cases is left out, and named on stderr); a case
met twice is an error (the parts must be disjoint). Needs numpy.
"""
import json
import os
import sys

import numpy as np

from specialist_ensemble import load


def main(out, dirs):
    if len(dirs) < 2:
        sys.exit("pool_folds.py: give the evaluation folders of at least two folds")
    folds = [load(d) for d in dirs]
    common = [n for n in folds[0]["names"] if all(n in f["names"] for f in folds[1:])]
    dropped = sorted({n for f in folds for n in f["names"]} - set(common))
    if dropped:
        print(f"pool_folds.py: left out (not scored by every fold's model): {', '.join(dropped)}", file=sys.stderr)
    ids, datasets, scores, labels, seen = [], [], [], [], {}
    for f, d in zip(folds, dirs):
        for i in f["ids"]:
            if i in seen:
                sys.exit(f"pool_folds.py: case {i} is in {seen[i]} and {d}: the folds' validation parts must be disjoint")
            seen[i] = d
        cols = [f["names"].index(n) for n in common]
        ids += f["ids"]
        datasets += f["datasets"] if f["datasets"] is not None else [""] * len(f["ids"])
        scores.append(f["scores"][:, cols])
        labels.append(f["labels"][:, cols])
    order = np.argsort(np.array(ids), kind="stable")
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "scores.npy"), np.concatenate(scores)[order])
    np.save(os.path.join(out, "labels.npy"), np.concatenate(labels)[order])
    with open(os.path.join(out, "row_cases.txt"), "w") as f:
        f.writelines(ids[i] + "\n" for i in order)
    with open(os.path.join(out, "row_datasets.txt"), "w") as f:
        f.writelines(datasets[i] + "\n" for i in order)
    json.dump({n: k for k, n in enumerate(common)}, open(os.path.join(out, "label_dict.json"), "w"), indent=1)
    print(f"pooled {len(ids)} cases x {len(common)} classes from {len(dirs)} folds into {out}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
