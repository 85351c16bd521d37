"""Tables of the real-sets evidence (scripts/real-sets-evidence.sh): the per-dataset table of one or more
`raddiag evaluate` outputs (metrics.json with a by_dataset section), and the lever table.
Usage: real_sets_tables.py datasets NAME=EVAL_DIR...   |   real_sets_tables.py levers LEVERS_TSV
       real_sets_tables.py seeds NAME=RUN_OR_PATTERN...  (one row per run: RUN/eval-val and RUN/eval-real; a
       NAME=RUN/eval--TAG spec reads RUN/eval-val-TAG and RUN/eval-real-TAG)
       real_sets_tables.py paired ROUNDS ENSEMBLE_EVAL_DIR NAME=MEMBER_EVAL_DIR...  (paired bootstrap of the
       within-dataset mean macro AUC: ensemble minus each member and minus the members' mean, on the same cases,
       resampled within each dataset; members' classes matched by name; needs numpy)"""
import csv
import json
import sys


def fmt(macro, ci, key="auc"):
    v = macro.get(key)
    if v is None:
        return "undefined"
    lo, hi = (ci or {}).get(key, [None, None])
    return f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if lo is not None else f"{v:.3f}"


def datasets(specs):
    cols = []
    table = {}
    for spec in specs:
        name, d = spec.split("=", 1)
        m = json.load(open(f"{d}/metrics.json"))
        cols.append(name)
        bd = m.get("by_dataset")
        if bd:
            for ds in bd["datasets"]:
                table.setdefault(ds["name"], {})[name] = (fmt(ds["macro"], ds.get("ci")), ds["n_cases"], ds["n_defined"])
            w = bd["within_dataset_mean"]
            table.setdefault("**within-dataset mean**", {})[name] = (fmt(w["macro"], w.get("ci")), m.get("n_cases"), w["n_datasets"])
        pooled = (fmt(m["macro"], m.get("ci", {}).get("macro")), m.get("n_cases"), m.get("n_defined"))
        label = "pooled over datasets (for contrast)"
        try:  # one dataset: its macro is the within-dataset number, so name the row after it
            names = set(open(f"{d}/row_datasets.txt").read().split())
            if not bd and len(names) == 1:
                label = names.pop()
        except OSError:
            pass
        table.setdefault(label, {})[name] = pooled
    print("| dataset | " + " | ".join(f"{c}: macro AUC [95% CI] (cases, classes)" for c in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for ds, row in table.items():
        cells = [f"{row[c][0]} ({row[c][1]}, {row[c][2]})" if c in row else "-" for c in cols]
        print(f"| {ds} | " + " | ".join(cells) + " |")


def levers(path):
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    if not rows:
        return
    keys = [k for k in rows[0] if k not in ("lever",)]
    print("| lever | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for r in rows:
        print(f"| {r['lever']} | " + " | ".join(r[k] for k in keys) + " |")


SHORT = {"brain_tumor_mri": "brain MRI", "covid_cxr_ct": "chest X-ray/CT", "lidc_nodule_ct3d": "nodule CT",
         "lung_ultrasound_pocus": "lung US"}


def seeds(specs):
    rows = []
    names = None
    for spec in specs:
        name, d = spec.split("=", 1)
        head, _, tag = d.partition("/eval--")
        dirs = [f"{head}/eval-{s}-{tag}" if tag else f"{d}/eval-{s}" for s in ("val", "real")]
        cells = []
        for eval_dir in dirs:
            bd = json.load(open(f"{eval_dir}/metrics.json"))["by_dataset"]
            auc = {x["name"]: x["macro"].get("auc") for x in bd["datasets"]}
            names = names or sorted(auc)
            cells += [f"{auc[n]:.3f}" if auc.get(n) is not None else "-" for n in names]
            cells.append(f"**{bd['within_dataset_mean']['macro']['auc']:.3f}**")
        rows.append((name, cells))
    short = [SHORT.get(n, n) for n in names]
    header = [f"val {n}" for n in short] + ["val mean"] + [f"external {n}" for n in short] + ["external mean"]
    print("| model | " + " | ".join(header) + " |")
    print("|---|" + "---|" * len(header))
    for name, cells in rows:
        print(f"| {name} | " + " | ".join(cells) + " |")


def rank_auc(y, s):
    """ROC AUC by the Mann-Whitney rank sum, ties given their mean rank."""
    import numpy as np
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def paired(args):
    import numpy as np
    rounds, ensemble, members = int(args[0]), args[1], args[2:]

    def load(d):
        names = json.load(open(f"{d}/label_dict.json"))
        order = sorted(names, key=names.get)
        return np.load(f"{d}/scores.npy"), np.load(f"{d}/labels.npy"), order, np.array(open(f"{d}/row_datasets.txt").read().split())

    scores, labels, names, datasets = load(ensemble)
    member_scores = {}
    for spec in members:
        name, d = spec.split("=", 1)
        s, l, n, ds = load(d)
        cols = [n.index(x) for x in names]
        if not (ds == datasets).all() or not (l[:, cols] == labels).all():
            sys.exit(f"{d}: not the same cases and labels as {ensemble}")
        member_scores[name] = s[:, cols]

    def within(s, rows):
        means = []
        for d in sorted(set(datasets)):
            r = rows[datasets[rows] == d]
            aucs = []
            for c in range(labels.shape[1]):
                y = labels[r, c]
                k = y >= 0
                if k.sum() and 0 < y[k].sum() < k.sum():
                    aucs.append(rank_auc(y[k], s[r][k, c]))
            if aucs:
                means.append(np.mean(aucs))
        return np.mean(means)

    def differences(rows):
        e = within(scores, rows)
        m = {k: within(v, rows) for k, v in member_scores.items()}
        out = {f"ensemble - {k}": e - v for k, v in m.items()}
        out["ensemble - members' mean"] = e - np.mean(list(m.values()))
        return out

    point = differences(np.arange(len(datasets)))
    rng = np.random.default_rng(0)
    by_dataset = [np.where(datasets == d)[0] for d in sorted(set(datasets))]
    draws = {k: [] for k in point}
    for _ in range(rounds):
        rows = np.concatenate([rng.choice(idx, len(idx)) for idx in by_dataset])
        for k, v in differences(rows).items():
            draws[k].append(v)
    print("| difference (within-dataset mean macro AUC) | value [95% CI] |")
    print("|---|---|")
    for k, v in point.items():
        lo, hi = np.percentile(draws[k], [2.5, 97.5])
        print(f"| {k} | {v:+.3f} [{lo:+.3f}, {hi:+.3f}] |")


if __name__ == "__main__":
    {"datasets": datasets, "levers": lambda a: levers(a[0]), "seeds": seeds, "paired": paired}[sys.argv[1]](sys.argv[2:])
