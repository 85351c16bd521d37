"""Combines manifest-layout dataset folders (manifest.csv + labels.csv) into one folder of the same layout
whose `file` column holds absolute paths and whose `dataset` column names each case's source folder, so
one `raddiag evaluate` reports every source within itself (its by_dataset table).
With --cases N only N cases are kept, taken in turn from the folders (each folder's first cases,
round-robin, a folder dropping out when it runs out): the mixed real-data manifest of the batch-prediction
benchmark (docs/performance.md).
Usage: combine_sets.py OUT FOLDER... [--cases N]"""
import argparse
import csv
import os


def round_robin(per_folder, n):
    """The first n case ids taken in turn from each folder's list."""
    kept, depth = [], 0
    while len(kept) < n:
        before = len(kept)
        for ids in per_folder:
            if depth < len(ids) and len(kept) < n:
                kept.append(ids[depth])
        if len(kept) == before:
            raise SystemExit(f"combine_sets.py: only {len(kept)} cases in these folders, --cases {n} asked")
        depth += 1
    return set(kept)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--cases", type=int, default=0, help="keep N cases, round-robin over the folders (0 = all)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    manifest, labels, per_folder = [], [], []
    for folder in a.folders:
        root = os.path.abspath(folder)
        name = os.path.basename(os.path.normpath(folder))
        with open(os.path.join(root, "manifest.csv"), newline="") as f:
            for r in csv.DictReader(f):
                manifest.append(dict(r, file=os.path.join(root, r["file"]), dataset=r.get("dataset") or name))
        with open(os.path.join(root, "labels.csv"), newline="") as f:
            rows = [dict(r, dataset=r.get("dataset") or name) for r in csv.DictReader(f)]
        labels += rows
        per_folder.append([r["case_id"] for r in rows])
    ids = [r["case_id"] for r in labels]
    if len(ids) != len(set(ids)):
        raise SystemExit("combine_sets.py: a case id occurs in more than one folder")
    if a.cases > 0:
        keep = round_robin(per_folder, a.cases)
        labels = [r for r in labels if r["case_id"] in keep]
        manifest = [r for r in manifest if r["case_id"] in keep]
    for rows, file in ((manifest, "manifest.csv"), (labels, "labels.csv")):
        fields = []
        for r in rows:
            fields += [k for k in r if k not in fields]
        with open(os.path.join(a.out, file), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, restval="")
            w.writeheader()
            w.writerows(rows)
    print(f"{a.out}: {len(labels)} cases from {len(a.folders)} folders")


if __name__ == "__main__":
    main()
