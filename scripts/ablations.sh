#!/usr/bin/env bash
# The paper's ablations at a CPU budget (issue 14, docs/ablations.md): on the four real-train sources,
# each variant of configs/ablations.json is trained with several seeds (one seed = one validation split
# inside real-train, shared by every variant of that seed) and scored within each dataset:
#   fusion:  early (transformer fusion of up to 4 images) vs late (one image per case, the official late
#            model) vs single best scan (the late model on every image, the highest score per class);
#   head:    knowledge head (class names embedded by a text encoder pre-trained here) vs MLP, with
#            head/medium/tail classes by training counts;
#   encoder: ResNet vs ViT vs ResNet-ViT hybrid (tiny sizes).
# Usage: scripts/ablations.sh [OUT_DIR]      (from the repository root; resumable: finished steps are kept)
#   SEEDS="1 2 3"  STEPS=600 (optimiser steps per run)  BOOTSTRAP=500  RADDIAG=build/raddiag  PYTHON=python3
# Writes OUT_DIR/ablations.md (the tables) and OUT_DIR/ablations.json (every number).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RADDIAG:-build/raddiag}
DATA=${RADDIAG_SHARED_DATA:-../shared/data}
OUT=${1:-out/ablations}
SEEDS=${SEEDS:-"1 2 3"}
STEPS=${STEPS:-600}
BOOTSTRAP=${BOOTSTRAP:-500}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# 1. The knowledge head's text encoder: a small BERT pre-trained on the knowledge corpus of the RP3D
#    vocabulary plus the real sets' labels (as scripts/knowledge-evidence.sh does).
if [ ! -f "$OUT/text/metrics.json" ]; then
  "$PY" - "$DATA" "$OUT/labels_all.json" <<'PY'
import csv, glob, json, sys
shared, out = sys.argv[1:]
names = list(json.load(open(shared + "/rp3d-demo/RP3D_Demo/DataPath/disorder_label_dict.json")))
low = {n.lower() for n in names}
for f in sorted(glob.glob(shared + "/real-train/*/labels.csv") + glob.glob(shared + "/real/*/labels.csv")):
    for r in csv.DictReader(open(f)):
        for l in r["labels"].split(";"):
            if l and l.lower() not in low:
                names.append(l); low.add(l.lower())
json.dump({n: i for i, n in enumerate(names)}, open(out, "w"))
PY
  "$BIN" knowledge build-corpus --labels "$OUT/labels_all.json" \
    --manifest "$DATA/rp3d-demo/RP3D_Demo/DataPath/demoData.json" --out "$OUT/knowledge.jsonl" > /dev/null
  "$BIN" knowledge pretrain --corpus "$OUT/knowledge.jsonl" --out "$OUT/text" \
    --steps 500 --batch-size 64 --vocab-size 4000 --held-out 0.1 --seed 0 > "$OUT/text.log" 2>&1
fi

# 2. One config per variant: base + the variant's merge patch, the text encoder filled in.
variants=$("$PY" scripts/merge_config.py configs/ablations.json variants --list)
for v in $variants; do
  "$PY" scripts/merge_config.py configs/ablations.json variants "$v" "$OUT/$v.json" --replace "@TEXT_ENCODER@=$OUT/text"
done

# 3. Train and predict every variant and seed on the run's own validation split.
for seed in $SEEDS; do
  for v in $variants; do
    run=$OUT/$v-s$seed
    if [ ! -f "$run/model.raddiag" ]; then
      start=$(date +%s)
      if compgen -G "$run/checkpoints/step-*" > /dev/null; then "$BIN" train --quiet --resume "$run" > "$run.log" 2>&1
      else rm -rf "$run"; "$BIN" train --quiet --config "$OUT/$v.json" --out "$run" --seed "$seed" --steps "$STEPS" > "$run.log" 2>&1; fi
      echo "$v seed $seed: trained in $(( $(date +%s) - start )) s"
    fi
    [ -f "$run/val.npy" ] || "$BIN" predict --quiet --model "$run/model.raddiag" --manifest "$run/val_cases.json" --out "$run/val.npy"
  done
  # Single best scan: the late model on every image of each validation case on its own.
  run=$OUT/late-s$seed
  if [ ! -f "$run/per_image.npy" ]; then
    "$PY" scripts/ablations_table.py expand "$run/val_cases.json" "$run/per_image_cases.json"
    "$BIN" predict --quiet --model "$run/model.raddiag" --manifest "$run/per_image_cases.json" --out "$run/per_image.npy"
  fi
done

# 4. The tables: within-dataset macro AUC per variant (mean over seeds, each seed's stratified-bootstrap
#    CI), paired differences per seed, head/medium/tail within datasets.
"$PY" scripts/ablations_table.py table --out "$OUT" --seeds $SEEDS --bootstrap "$BOOTSTRAP" --variants $variants
echo "tables: $OUT/ablations.md"
