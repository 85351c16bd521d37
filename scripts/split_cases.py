"""Seeded case-level split of manifest-layout dataset folders (manifest.csv + labels.csv), stratified by
each case's first label: writes OUT/<name>/train and OUT/<name>/heldout, each a manifest-layout folder whose
`file` column holds absolute paths and whose `dataset` column keeps the source folder's name.
Usage: split_cases.py --out OUT [--fraction 0.2] [--seed 7] FOLDER..."""
import argparse
import csv
import os
import random


def split(folder, out, fraction, seed):
    name = os.path.basename(os.path.normpath(folder))
    root = os.path.abspath(folder)
    with open(os.path.join(root, "labels.csv"), newline="") as f:
        labels = list(csv.DictReader(f))
    with open(os.path.join(root, "manifest.csv"), newline="") as f:
        manifest = list(csv.DictReader(f))
    groups = {}
    for row in labels:
        groups.setdefault(row["labels"].split(";")[0].strip(), []).append(row["case_id"])
    rng = random.Random(f"{seed}:{name}")
    heldout = set()
    for first in sorted(groups):
        members = sorted(groups[first])
        rng.shuffle(members)
        k = round(fraction * len(members))
        if len(members) >= 2:
            k = min(max(k, 1), len(members) - 1)
        else:
            k = 0
        heldout.update(members[:k])
    counts = {}
    for part in ("train", "heldout"):
        d = os.path.join(out, name, part)
        os.makedirs(d, exist_ok=True)
        keep = (lambda c: c in heldout) if part == "heldout" else (lambda c: c not in heldout)
        rows = [r for r in labels if keep(r["case_id"])]
        with open(os.path.join(d, "labels.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(labels[0].keys()))
            w.writeheader()
            w.writerows(rows)
        fields = [k for k in manifest[0].keys() if k != "dataset"] + ["dataset"]
        with open(os.path.join(d, "manifest.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            for r in manifest:
                if keep(r["case_id"]):
                    r = dict(r, file=os.path.join(root, r["file"]), dataset=name)
                    w.writerow(r)
        counts[part] = len(rows)
    print(f"{name}: {counts['train']} train / {counts['heldout']} held-out cases")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--fraction", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("folders", nargs="+")
    a = ap.parse_args()
    for folder in a.folders:
        split(folder, a.out, a.fraction, a.seed)


if __name__ == "__main__":
    main()
