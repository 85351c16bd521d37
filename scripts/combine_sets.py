"""Combines manifest-layout dataset folders (manifest.csv + labels.csv) into one folder of the same layout
whose `file` column holds absolute paths and whose `dataset` column names each case's source folder, so
one `raddiag evaluate` reports every source within itself (its by_dataset table).
Usage: combine_sets.py OUT FOLDER..."""
import csv
import os
import sys


def main():
    out, folders = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    manifest, labels = [], []
    for folder in folders:
        root = os.path.abspath(folder)
        name = os.path.basename(os.path.normpath(folder))
        with open(os.path.join(root, "manifest.csv"), newline="") as f:
            for r in csv.DictReader(f):
                manifest.append(dict(r, file=os.path.join(root, r["file"]), dataset=r.get("dataset") or name))
        with open(os.path.join(root, "labels.csv"), newline="") as f:
            for r in csv.DictReader(f):
                labels.append(dict(r, dataset=r.get("dataset") or name))
    ids = [r["case_id"] for r in labels]
    if len(ids) != len(set(ids)):
        raise SystemExit("combine_sets.py: a case id occurs in more than one folder")
    for rows, file in ((manifest, "manifest.csv"), (labels, "labels.csv")):
        fields = []
        for r in rows:
            fields += [k for k in r if k not in fields]
        with open(os.path.join(out, file), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, restval="")
            w.writeheader()
            w.writerows(rows)
    print(f"{out}: {len(labels)} cases from {len(folders)} folders")


if __name__ == "__main__":
    main()
