#!/usr/bin/env python3
"""Builds the combined real-data folder datasets of the knowledge-head evidence (docs/knowledge-head.md).

All four sets of ../shared/data/real become one train / one validation folder dataset (seeded split,
stratified by each case's first label, 30 % of every group to validation when it has >= 2 cases);
files are reached through symbolic links to the source folders. vocabulary.json holds every training
label except the --hold-out classes, which are never trained on (their labels are dropped from the
training targets; the cases stay, with their other labels) and only named at inference (zero-shot).
Usage: knowledge_evidence_data.py OUT_DIR [--hold-out NAME ...] [--seed 1]
"""
import argparse, csv, json, os, random

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("--real", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "real"))
p.add_argument("--hold-out", nargs="*", default=[])
p.add_argument("--val-fraction", type=float, default=0.3)
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()
real = os.path.abspath(a.real)
sets = sorted(d for d in os.listdir(real) if os.path.isfile(os.path.join(real, d, "labels.csv")))
cases = []  # (set, case_id, labels, manifest rows)
for s in sets:
    rows = {}
    with open(os.path.join(real, s, "manifest.csv"), newline="") as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["case_id"], []).append(r)
    with open(os.path.join(real, s, "labels.csv"), newline="") as f:
        for r in csv.DictReader(f):
            labels = [x for x in r["labels"].split(";") if x]
            cases.append((s, r["case_id"], labels, rows[r["case_id"]]))
groups = {}
for i, c in enumerate(cases):
    groups.setdefault(c[2][0] if c[2] else "", []).append(i)
rng = random.Random(a.seed)
val = set()
for name in sorted(groups):
    m = groups[name]
    rng.shuffle(m)
    k = round(a.val_fraction * len(m)) if len(m) >= 2 else 0
    k = min(max(k, 1), len(m) - 1) if len(m) >= 2 else 0
    val.update(m[:k])
for part in ("train", "val"):
    d = os.path.join(a.out, part)
    os.makedirs(d, exist_ok=True)
    for s in sets:
        link = os.path.join(d, s)
        if not os.path.islink(link):
            os.symlink(os.path.join(real, s), link)
    idx = [i for i in range(len(cases)) if (i in val) == (part == "val")]
    with open(os.path.join(d, "manifest.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case_id", "file", "modality"])
        for i in idx:
            s, cid, _, rows = cases[i]
            for r in rows:
                w.writerow([cid, s + "/" + r["file"], r["modality"]])
    with open(os.path.join(d, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case_id", "labels"])
        for i in idx:
            w.writerow([cases[i][1], ";".join(cases[i][2])])
counts = {}
for i in range(len(cases)):
    if i not in val:
        for l in cases[i][2]:
            counts[l] = counts.get(l, 0) + 1
names = sorted((n for n in counts if n not in a.hold_out), key=lambda n: (-counts[n], n))
with open(os.path.join(a.out, "vocabulary.json"), "w") as f:
    json.dump({n: i for i, n in enumerate(names)}, f, indent=1)
val_counts = {}
for i in val:
    for l in cases[i][2]:
        val_counts[l] = val_counts.get(l, 0) + 1
print(f"{len(cases) - len(val)} train / {len(val)} val cases, {len(names)} trained classes; held out: {a.hold_out}")
for n in sorted(set(counts) | set(val_counts), key=lambda n: (-counts.get(n, 0), n)):
    print(f"  {n:28s} train {counts.get(n, 0):3d}  val {val_counts.get(n, 0):3d}{'  (held out)' if n in a.hold_out else ''}")
