"""Tables of scripts/ablations.sh (docs/ablations.md), computed from the predictions of every run with
scikit-learn's roc_auc_score, within each dataset:
  expand VAL_JSON OUT_JSON   one case per image of every case (ids CASE#k), for the single-best-scan variant
  table --out DIR --seeds S.. --variants V.. [--bootstrap B]
        per run DIR/<variant>-s<seed>: val.npy (+ its .cases.csv), val_cases.json, train_cases.json,
        vocabulary.json; late-s<seed>/per_image.npy for the single best scan. Writes DIR/ablations.json
        and DIR/ablations.md."""
import argparse
import csv
import json
import math
import sys

import numpy as np
from sklearn.metrics import roc_auc_score

HEAD_ABOVE, TAIL_BELOW = 100, 30  # raddiag's count groups (eval/class_groups.h): head > 100, tail < 30


def expand(src, dst):
    cases = json.load(open(src))
    out = {}
    for cid, case in cases.items():
        k = 0
        n = len(case["Samples"])
        for si, sample in enumerate(case["Samples"]):
            paths = sample["image_data_path"]
            paths = paths if isinstance(paths, list) else [paths]
            for i in range(len(paths)):
                one = {key: ([val[i]] if isinstance(val, list) and len(val) == len(paths) else val) for key, val in sample.items()}
                # Case-level lists parallel to the samples (Modalities, Anatomies, key_slice) keep this sample's entry.
                copy = {key: ([val[si]] if isinstance(val, list) and len(val) == n else val) for key, val in case.items()}
                copy["Samples"] = [one]
                copy["key_slice"] = [{}]
                out[f"{cid}#{k}"] = copy
                k += 1
    json.dump(out, open(dst, "w"))


def case_labels(cases, vocab):
    y = np.zeros((len(cases), len(vocab)), dtype=np.int8)
    for r, case in enumerate(cases.values()):
        for s in case["Samples"]:
            for name in s.get("articles", []):
                if name in vocab:
                    y[r, vocab[name]] = 1
    return y


def rows_csv(npy):
    with open(npy[:-4] + ".cases.csv", newline="") as f:
        return list(csv.DictReader(f))


def within_dataset(scores, labels, datasets, idx_by_ds, rng=None):
    """Per dataset {class: AUC} over that dataset's cases (optionally resampled), and the per-dataset macro."""
    per = {}
    for d, idx in idx_by_ds.items():
        if rng is not None:
            idx = idx[rng.integers(0, len(idx), len(idx))]
        aucs = {}
        for c in range(labels.shape[1]):
            y = labels[idx, c]
            if 0 < y.sum() < len(y):
                aucs[c] = roc_auc_score(y, scores[idx, c])
        per[d] = aucs
    return per


def macro(per):
    vals = [np.mean(list(a.values())) for a in per.values() if a]
    return float(np.mean(vals)) if vals else math.nan


def load_run(out, variant, seed):
    run = f"{out}/{variant}-s{seed}"
    vocab = json.load(open(f"{run}/vocabulary.json"))
    val = json.load(open(f"{run}/val_cases.json"))
    labels = case_labels(val, vocab)
    rows = rows_csv(f"{run}/val.npy")
    scores = np.load(f"{run}/val.npy").astype(np.float64)
    datasets = [r.get("dataset", "") for r in rows]
    counts = case_labels(json.load(open(f"{run}/train_cases.json")), vocab).sum(0)
    return dict(vocab=vocab, labels=labels, scores=scores, datasets=datasets, counts=counts, ids=list(val))


def single_best(out, seed, base):
    """The late model's per-image scores, max over the images of each case, in the case order of `base`."""
    run = f"{out}/late-s{seed}"
    per = np.load(f"{run}/per_image.npy").astype(np.float64)
    ids = list(json.load(open(f"{run}/per_image_cases.json")))
    best = {}
    for cid, row in zip(ids, per):
        case = cid.rsplit("#", 1)[0]
        if np.all(np.isnan(row)):
            continue
        best[case] = row if case not in best else np.fmax(best[case], row)
    scores = np.stack([best.get(c, np.full(per.shape[1], np.nan)) for c in base["ids"]])
    return dict(base, scores=scores)


def evaluate(run, bootstrap, seed):
    ok = ~np.isnan(run["scores"]).any(1)
    scores, labels = run["scores"][ok], run["labels"][ok]
    ds = np.array(run["datasets"])[ok]
    idx_by_ds = {d: np.flatnonzero(ds == d) for d in sorted(set(ds))}
    per = within_dataset(scores, labels, ds, idx_by_ds)
    rng = np.random.default_rng(seed)
    boot = [macro(within_dataset(scores, labels, ds, idx_by_ds, rng)) for _ in range(bootstrap)]
    groups = {"head": [], "medium": [], "tail": []}
    for d, aucs in per.items():
        for c, a in aucs.items():
            n = run["counts"][c]
            groups["head" if n > HEAD_ABOVE else "tail" if n < TAIL_BELOW else "medium"].append(a)
    return {
        "n_cases": int(ok.sum()),
        "within_dataset_mean_auc": macro(per),
        "ci": [float(np.nanpercentile(boot, 2.5)), float(np.nanpercentile(boot, 97.5))] if boot else None,
        "boot": boot,
        "by_dataset": {d: float(np.mean(list(a.values()))) if a else math.nan for d, a in per.items()},
        "groups": {g: (float(np.mean(v)) if v else math.nan, len(v)) for g, v in groups.items()},
    }


def table(a):
    variants = list(a.variants) + ["single_best_scan"]
    res = {v: {} for v in variants}
    for seed in a.seeds:
        base = None
        for v in a.variants:
            run = load_run(a.out, v, seed)
            if v == "late":
                base = run
            # Same bootstrap seed for every variant of a seed: the same resampled cases (paired), as long
            # as the variants kept the same cases.
            res[v][seed] = evaluate(run, a.bootstrap, int(seed))
        if base is not None:
            res["single_best_scan"][seed] = evaluate(single_best(a.out, seed, base), a.bootstrap, int(seed))
    datasets = sorted({d for v in res.values() for r in v.values() for d in r["by_dataset"]})

    def mean(v, f):
        xs = [f(r) for r in res[v].values()]
        xs = [x for x in xs if x is not None and not math.isnan(x)]
        return (float(np.mean(xs)), float(np.std(xs, ddof=1)) if len(xs) > 1 else math.nan) if xs else (math.nan, math.nan)

    def paired(v, ref):
        out = []
        for seed in a.seeds:
            r, q = res[v].get(seed), res[ref].get(seed)
            if not r or not q:
                continue
            d = r["within_dataset_mean_auc"] - q["within_dataset_mean_auc"]
            diffs = np.array(r["boot"]) - np.array(q["boot"]) if r["n_cases"] == q["n_cases"] and r["boot"] else np.array([])
            ci = [float(np.nanpercentile(diffs, 2.5)), float(np.nanpercentile(diffs, 97.5))] if diffs.size else None
            out.append((seed, d, ci))
        return out

    lines = [f"Seeds {' '.join(a.seeds)}; within-dataset macro AUC on each seed's validation split inside real-train "
             f"(the mean over datasets of each dataset's macro AUC); CIs: {a.bootstrap} stratified bootstrap rounds over "
             "cases within each dataset; differences are paired (same cases, same resamples).", ""]
    lines.append("| variant | " + " | ".join(datasets) + " | within-dataset mean (mean ± sd over seeds) | per seed [95% CI] |")
    lines.append("|---|" + "---:|" * len(datasets) + "---:|---|")
    for v in variants:
        if not res[v]:
            continue
        cells = [f"{mean(v, lambda r, d=d: r['by_dataset'].get(d, math.nan))[0]:.3f}" for d in datasets]
        m, sd = mean(v, lambda r: r["within_dataset_mean_auc"])
        seeds = "; ".join(f"{r['within_dataset_mean_auc']:.3f} [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]" for r in res[v].values())
        lines.append(f"| {v} | " + " | ".join(cells) + f" | {m:.3f} ± {sd:.3f} | {seeds} |")
    lines += ["", "Paired differences against `early` (the base: early fusion, MLP head, ResNet):", "",
              "| variant − early | per seed: difference [95% CI] | mean |", "|---|---|---:|"]
    for v in variants:
        if v == "early" or not res[v]:
            continue
        p = paired(v, "early")
        cells = "; ".join(f"{d:+.3f}" + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else "") for _, d, ci in p)
        lines.append(f"| {v} | {cells} | {np.mean([d for _, d, _ in p]):+.3f} |")
    if res.get("knowledge"):
        lines += ["", "Head / medium / tail (classes by training cases: head > 100, tail < 30), mean AUC of the "
                  "(dataset, class) pairs within each dataset, mean over seeds (pairs per group in brackets):", "",
                  "| variant | head | medium | tail |", "|---|---:|---:|---:|"]
        for v in ["early", "knowledge"]:
            cells = []
            for g in ["head", "medium", "tail"]:
                m, _ = mean(v, lambda r, g=g: r["groups"][g][0])
                n = next(iter(res[v].values()))["groups"][g][1]
                cells.append(f"{m:.3f} ({n})")
            lines.append(f"| {v} | " + " | ".join(cells) + " |")
    for v in res.values():
        for r in v.values():
            r.pop("boot", None)
    json.dump(res, open(f"{a.out}/ablations.json", "w"), indent=1)
    open(f"{a.out}/ablations.md", "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "expand":
        expand(sys.argv[2], sys.argv[3])
        return
    p = argparse.ArgumentParser()
    p.add_argument("cmd")
    p.add_argument("--out", required=True)
    p.add_argument("--seeds", nargs="+", required=True)
    p.add_argument("--variants", nargs="+", required=True)
    p.add_argument("--bootstrap", type=int, default=500)
    table(p.parse_args())


if __name__ == "__main__":
    main()
