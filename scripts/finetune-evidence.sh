#!/usr/bin/env bash
# Issue 8 evidence (docs/finetune.md): pre-train a tiny model on three real sets, then fine-tune it on
# the brain MRI set with 100% / 25% / 10% of the training cases, against the same architecture from
# scratch with the same budget, over several seeds. Prints one line per run and writes table.tsv.
# Usage: scripts/finetune-evidence.sh [OUT_DIR] (from the repository root; SEEDS="1 2 3 4 5" by default)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RADDIAG:-build/raddiag}
DATA=${RADDIAG_SHARED_DATA:-../shared/data}
OUT=${1:-out/finetune-evidence}
SEEDS=${SEEDS:-"1 2 3 4 5"}
INITS=${INITS:-"pretrained scratch frozen"}   # frozen: pre-trained, --mode frozen (head only)
mkdir -p "$OUT"

# 1. Brain MRI split as label CSVs (one 0/1 column per class): per class, the first 6 cases by case id
#    train, the other 4 are held out (validation = the evaluated set; 16 cases).
BRAIN="$DATA/real/brain_tumor_mri"
python3 - "$BRAIN" "$OUT" <<'PY'
import csv, os, sys
root, out = os.path.abspath(sys.argv[1]), sys.argv[2]
labels = {r["case_id"]: r["labels"] for r in csv.DictReader(open(os.path.join(root, "labels.csv")))}
files = {r["case_id"]: r["file"] for r in csv.DictReader(open(os.path.join(root, "manifest.csv")))}
classes = ["glioma", "meningioma", "no tumor", "pituitary tumor"]
seen = {}
writers = {}
for name in ("train", "heldout"):
    writers[name] = csv.writer(open(os.path.join(out, f"brain-{name}.csv"), "w", newline=""))
    writers[name].writerow(["path", "modality"] + classes)
for cid in sorted(files):
    seen[labels[cid]] = seen.get(labels[cid], 0) + 1
    dest = "train" if seen[labels[cid]] <= 6 else "heldout"
    writers[dest].writerow([os.path.join(root, files[cid]), "MRI"] + [int(labels[cid] == c) for c in classes])
PY

# 2. The source model (early fusion, ~20 classes of the three other sets).
if [ ! -f "$OUT/pretrain/model.raddiag" ]; then
  "$BIN" train --quiet --config configs/pretrain-tiny-3sets.json --out "$OUT/pretrain"
fi

# 3. Fine-tuning vs scratch, same recipe and budget (configs/finetune-tiny-brain.json).
printf 'setting\tfraction\tseed\ttrain_cases\tmacro_auc\tci_lo\tci_hi\n' > "$OUT/table.tsv"
for seed in $SEEDS; do
  for fraction in 1 0.25 0.1; do
    for init in $INITS; do
      run="$OUT/$init-f$fraction-s$seed"
      rm -rf "$run"
      extra=""
      [ "$init" = scratch ] && extra="--scratch"
      [ "$init" = frozen ] && extra="--mode frozen"
      "$BIN" finetune --quiet --from "$OUT/pretrain/model.raddiag" --config configs/finetune-tiny-brain.json \
        --train "$OUT/brain-train.csv" --val "$OUT/brain-heldout.csv" --fraction "$fraction" --seed "$seed" \
        --out "$run" $extra > "$run.log" 2>&1
      python3 - "$run/finetune_summary.json" "$init" "$fraction" "$seed" >> "$OUT/table.tsv" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
e = s["evaluations"]["val"]
lo, hi = e["macro_auc_ci"]
print(f'{sys.argv[2]}\t{sys.argv[3]}\t{sys.argv[4]}\t{s["finetune"]["train_cases_used"]}\t{e["macro_auc"]:.4f}\t{lo:.4f}\t{hi:.4f}')
PY
      tail -n 1 "$OUT/table.tsv"
    done
  done
done
