"""Does a per-dataset specialist add to the joint model? Offline check on `raddiag evaluate` outputs.

Usage: specialist_ensemble.py ROUNDS JOINT_EVAL_DIR SPECIALIST_EVAL_DIR...

JOINT_EVAL_DIR is the joint model's evaluation of a multi-dataset test set; each SPECIALIST_EVAL_DIR is a
model trained on one dataset only, evaluated on (at least) that dataset's cases of the same test set.
Rows are joined by case id (row_cases.txt) and classes by name (label_dict.json). For every dataset that
a specialist covers, prints the within-dataset macro AUC (over the classes with positives and negatives
among that dataset's cases) of the joint model, of the specialist (the joint model's logit stands in for
a class the specialist does not score), and of their logits averaged, with a paired bootstrap of
average minus joint (ROUNDS resamples of that dataset's cases). A last row scores the whole ensemble as
`evaluate --ensemble` forms it: on every dataset of the joint evaluation, a class's logit is the mean over the
joint model and the specialists of that dataset that score the class; it gives the within-dataset mean macro
AUC of the joint model and of the ensemble, and their paired difference (cases resampled within each
dataset). Needs numpy.
"""
import json
import os
import sys

import numpy as np

from real_sets_tables import rank_auc


def load(d):
    names = json.load(open(os.path.join(d, "label_dict.json")))
    if isinstance(names, dict):
        names = [k for k, _ in sorted(names.items(), key=lambda kv: kv[1])]
    ids = open(os.path.join(d, "row_cases.txt")).read().splitlines()
    p = os.path.join(d, "row_datasets.txt")
    datasets = open(p).read().splitlines() if os.path.exists(p) else None
    scores, labels = np.load(os.path.join(d, "scores.npy")), np.load(os.path.join(d, "labels.npy"))
    if len(ids) != len(scores):
        sys.exit(f"{d}: row_cases.txt has {len(ids)} rows, scores.npy {len(scores)}")
    return {"names": names, "ids": ids, "datasets": datasets, "scores": scores, "labels": labels}


def auc_or_none(y, s):
    """rank_auc of real_sets_tables.py, None when y has one class only."""
    pos = y > 0.5
    if pos.all() or not pos.any():
        return None
    return rank_auc(pos.astype(int), s)


def macro(y, s):
    vals = [auc_or_none(y[:, k], s[:, k]) for k in range(y.shape[1])]
    vals = [v for v in vals if v is not None]
    return float(np.mean(vals)) if vals else None


def main(argv):
    rounds, joint_dir, spec_dirs = int(argv[0]), argv[1], argv[2:]
    joint = load(joint_dir)
    if joint["datasets"] is None:
        sys.exit(f"{joint_dir}: no row_datasets.txt (a test set of one dataset); the joint model needs several")
    row_of = {cid: i for i, cid in enumerate(joint["ids"])}
    rng = np.random.default_rng(0)
    print("| dataset | specialist | cases | classes | joint | specialist | average of logits | average − joint [95% CI] |")
    print("|---|---|---|---|---|---|---|---|")
    members = {}  # dataset -> (sum of the specialists' logits, number of models scoring), over all joint rows
    for sd in spec_dirs:
        spec = load(sd)
        rows = [i for i, cid in enumerate(spec["ids"]) if cid in row_of]
        jrows = [row_of[spec["ids"][i]] for i in rows]
        names = sorted({joint["datasets"][j] for j in jrows})
        if len(names) != 1:
            sys.exit(f"{sd}: its cases span datasets {names} of the joint evaluation; a specialist covers one")
        dataset = names[0]
        jrows_all = [j for j, d in enumerate(joint["datasets"]) if d == dataset]
        if len(jrows) != len(jrows_all):
            sys.exit(f"{sd}: scores {len(jrows)} of the joint evaluation's {len(jrows_all)} cases of {dataset}")
        y = joint["labels"][jrows]
        keep = [k for k in range(y.shape[1]) if 0 < y[:, k].sum() < len(jrows)]
        y = y[:, keep]
        # The specialist's logits in the joint model's class order (has: 1 where it scores the class).
        spec_col = {n: c for c, n in enumerate(spec["names"])}
        spec_scores = np.zeros_like(joint["scores"][jrows])
        has = np.zeros_like(spec_scores)
        for k, name in enumerate(joint["names"]):
            c = spec_col.get(name)
            if c is not None:
                spec_scores[:, k] = spec["scores"][rows, c]
                has[:, k] = 1.0
        total, count = members.setdefault(dataset, (np.zeros_like(joint["scores"]), np.ones_like(joint["scores"])))
        total[jrows] += spec_scores
        count[jrows] += has
        sj = joint["scores"][jrows][:, keep]
        ss = np.where(has[:, keep] > 0, spec_scores[:, keep], sj)   # the joint logit stands in elsewhere
        scored = int(has[0, keep].sum())
        avg = (sj + ss) / 2.0
        a_j, a_s, a_a = macro(y, sj), macro(y, ss), macro(y, avg)
        diffs = []
        n = len(jrows)
        for _ in range(rounds):
            b = rng.integers(0, n, n)
            mj, ma = macro(y[b], sj[b]), macro(y[b], avg[b])
            if mj is not None and ma is not None:
                diffs.append(ma - mj)
        lo, hi = (np.percentile(diffs, [2.5, 97.5]) if diffs else (float("nan"), float("nan")))
        print(f"| {dataset} | {os.path.basename(os.path.dirname(os.path.abspath(sd)))} | {n} | {len(keep)} ({scored} scored by the specialist) "
              f"| {a_j:.3f} | {a_s:.3f} | {a_a:.3f} | {a_a - a_j:+.3f} [{lo:+.3f}, {hi:+.3f}] |")
    whole_ensemble(joint, members, rounds, rng)


def whole_ensemble(joint, members, rounds, rng):
    """The last row: every dataset of the joint evaluation, each with the specialists that cover it."""
    parts = []  # per dataset: labels, joint logits, ensemble logits over its classes with both outcomes
    for dataset in sorted(set(joint["datasets"])):
        rows = [j for j, d in enumerate(joint["datasets"]) if d == dataset]
        y = joint["labels"][rows]
        keep = [k for k in range(y.shape[1]) if 0 < (y[:, k] > 0.5).sum() < len(rows)]
        if not keep:
            continue
        sj = joint["scores"][rows]
        ens = sj
        if dataset in members:
            total, count = members[dataset]
            ens = (sj + total[rows]) / count[rows]
        parts.append((y[:, keep], sj[:, keep], ens[:, keep]))
    if not parts:
        return
    mean_j = float(np.mean([macro(y, sj) for y, sj, _ in parts]))
    mean_e = float(np.mean([macro(y, e) for y, _, e in parts]))
    diffs = []
    for _ in range(rounds):
        mj, me = [], []
        for y, sj, e in parts:
            b = rng.integers(0, len(y), len(y))
            a, c = macro(y[b], sj[b]), macro(y[b], e[b])
            if a is not None and c is not None:
                mj.append(a)
                me.append(c)
        if len(mj) == len(parts):
            diffs.append(np.mean(me) - np.mean(mj))
    lo, hi = (np.percentile(diffs, [2.5, 97.5]) if diffs else (float("nan"), float("nan")))
    n = sum(len(y) for y, _, _ in parts)
    print(f"| **within-dataset mean** ({len(parts)} datasets) | all given | {n} | | {mean_j:.3f} | | {mean_e:.3f} "
          f"| {mean_e - mean_j:+.3f} [{lo:+.3f}, {hi:+.3f}] |")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1:])
