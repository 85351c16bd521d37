#!/usr/bin/env python3
"""One manifest-layout folder (manifest.csv + labels.csv) holding N cases taken in turn from several
manifest-layout dataset folders (their first cases, round-robin, skipping a folder once it runs out), with absolute file paths and each case's source folder name as its
`dataset`: the mixed real-data manifest that the batch-prediction benchmark runs (bench/perf-prefetch.sh).

  make_mixed_manifest.py --cases 100 --out DIR ../shared/data/real/brain_tumor_mri ...
"""
import argparse
import csv
import os


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, required=True, help="cases in all")
    ap.add_argument("--out", required=True)
    ap.add_argument("folders", nargs="+")
    a = ap.parse_args()
    sources = []
    for folder in a.folders:
        root = os.path.abspath(folder)
        with open(os.path.join(root, "labels.csv"), newline="") as f:
            labels = list(csv.DictReader(f))
        with open(os.path.join(root, "manifest.csv"), newline="") as f:
            manifest = list(csv.DictReader(f))
        sources.append((root, os.path.basename(os.path.normpath(folder)), labels, manifest))
    taken = [[] for _ in sources]
    total, depth = 0, 0
    while total < a.cases:
        progressed = False
        for s, (_, _, labels, _) in enumerate(sources):
            if depth < len(labels) and total < a.cases:
                taken[s].append(labels[depth])
                total += 1
                progressed = True
        if not progressed:
            raise SystemExit(f"only {total} cases in these folders, {a.cases} asked")
        depth += 1
    labels_out, manifest_out = [], []
    label_fields, manifest_fields = [], []
    for (root, name, _, manifest), labels in zip(sources, taken):
        keep = {r["case_id"] for r in labels}
        rows = [dict(r) for r in manifest if r["case_id"] in keep]
        for r in rows:
            r["file"] = os.path.join(root, r["file"])
            r["dataset"] = name
        labels_out += labels
        manifest_out += rows
        for fields, source in ((label_fields, labels), (manifest_fields, rows)):
            for k in (source[0].keys() if source else []):
                if k not in fields:
                    fields.append(k)
    os.makedirs(a.out, exist_ok=True)
    for path, fields, rows in (("labels.csv", label_fields, labels_out), ("manifest.csv", manifest_fields, manifest_out)):
        with open(os.path.join(a.out, path), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, restval="")
            w.writeheader()
            w.writerows(rows)
    print(f"{len(labels_out)} cases, {len(manifest_out)} images -> {a.out}")


if __name__ == "__main__":
    main()
