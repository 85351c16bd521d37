#!/usr/bin/env bash
# Issue 13 item 4 (docs/finetune.md, "Transfer across the real sources"): for each of the four real-train
# sources in turn, pre-train a tiny model on the other three, then fine-tune it on that source with 100% /
# 25% / 10% of its training cases, against the same architecture from scratch with the same budget, over
# several seeds. Each run is scored on a held-out 20% split of the source's real-train cases (never trained
# on) and on the source's folder in ../shared/data/real (external). Prints one line per run; writes table.tsv.
# Usage: scripts/real-sets-transfer.sh [OUT_DIR]   (from the repository root)
#   SEEDS="1 2" TARGETS="brain_tumor_mri ..." FRACTIONS="1 0.25 0.1" RADDIAG=build/raddiag
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RADDIAG:-build/raddiag}
DATA=${RADDIAG_SHARED_DATA:-../shared/data}
OUT=${1:-out/real-sets-transfer}
SEEDS=${SEEDS:-"1 2"}
SOURCES="brain_tumor_mri covid_cxr_ct lidc_nodule_ct3d lung_ultrasound_pocus"
TARGETS=${TARGETS:-$SOURCES}
FRACTIONS=${FRACTIONS:-"1 0.25 0.1"}
PY=${PYTHON:-python3}
mkdir -p "$OUT"

# 1. Per source: a seeded 80/20 split of its real-train cases, stratified by the first label, written as
#    manifest-layout folders (absolute file paths) that keep the source's name as their dataset.
"$PY" scripts/split_cases.py --seed 7 --fraction 0.2 --out "$OUT/split" \
  $(for s in $SOURCES; do echo "$DATA/real-train/$s"; done)

[ -f "$OUT/table.tsv" ] || printf 'target\tinit\tfraction\tseed\ttrain_cases\theldout_auc\theldout_lo\theldout_hi\treal_auc\treal_lo\treal_hi\n' > "$OUT/table.tsv"
for target in $TARGETS; do
  # 2. The source model: the other three sources (all their real-train cases).
  pre="$OUT/pretrain-no-$target"
  if [ ! -f "$pre/model.raddiag" ]; then
    rm -rf "$pre"
    others=$(for s in $SOURCES; do [ "$s" = "$target" ] || echo "\"$DATA/real-train/$s\""; done | paste -sd,)
    "$PY" -c "import json,sys; c=json.load(open('configs/transfer-pretrain.json')); c['data']['train']=json.loads('[' + sys.argv[1] + ']'); json.dump(c, open(sys.argv[2], 'w'), indent=1)" \
      "$others" "$OUT/pretrain-no-$target.json"
    "$BIN" train --quiet --config "$OUT/pretrain-no-$target.json" --out "$pre" > "$pre.log" 2>&1
  fi
  # 3. Fine-tuning vs scratch, same recipe and budget (configs/transfer-finetune.json).
  for seed in $SEEDS; do
    for fraction in $FRACTIONS; do
      for init in pretrained scratch; do
        run="$OUT/$target-$init-f$fraction-s$seed"
        if grep -q "^$target	$init	$fraction	$seed	" "$OUT/table.tsv"; then continue; fi   # resumable
        rm -rf "$run"
        extra=""
        [ "$init" = scratch ] && extra="--scratch"
        # A subset smaller than a batch never yields one (the loader drops the last partial batch): the
        # batch is at most the subset's size, counted as raddiag finetune selects it (per first label,
        # max(1, round(F * n))), the same for pre-trained and scratch.
        batch=$("$PY" - "$OUT/split/$target/train/labels.csv" "$fraction" <<'PY'
import csv, math, sys
groups = {}
for r in csv.DictReader(open(sys.argv[1])):
    first = r["labels"].split(";")[0].strip()
    groups[first] = groups.get(first, 0) + 1
f = float(sys.argv[2])
print(min(16, sum(max(1, math.floor(f * n + 0.5)) for n in groups.values())))
PY
)
        extra="$extra --batch $batch"
        "$BIN" finetune --quiet --from "$pre/model.raddiag" --config configs/transfer-finetune.json \
          --train "$OUT/split/$target/train" --val "$OUT/split/$target/heldout" --test "$DATA/real/$target" \
          --fraction "$fraction" --seed "$seed" --out "$run" $extra > "$run.log" 2>&1
        "$PY" - "$run/finetune_summary.json" "$target" "$init" "$fraction" "$seed" >> "$OUT/table.tsv" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
def cell(e):
    lo, hi = e["macro_auc_ci"]
    return f'{e["macro_auc"]:.4f}\t{lo:.4f}\t{hi:.4f}'
ev = s["evaluations"]
print("\t".join(sys.argv[2:6]) + f'\t{s["finetune"]["train_cases_used"]}\t{cell(ev["val"])}\t{cell(ev["test"])}')
PY
        tail -n 1 "$OUT/table.tsv"
      done
    done
  done
done
