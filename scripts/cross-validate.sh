#!/usr/bin/env bash
# K-fold cross-validation of a training config (data.folds, docs/training.md): trains fold 0..K-1 of
# CONFIG (train --fold k; K is the config's data.folds), scores each fold's model on its own validation
# part, pools those held-out predictions into one evaluation of every case (scripts/pool_folds.py) and
# computes its metrics with `raddiag metrics`: per dataset and their mean, with bootstrap CIs over all
# cases instead of one validation part. For small sources, where one validation part holds a class's
# positives in single digits, this is the stable number.
# Usage: scripts/cross-validate.sh CONFIG OUT_DIR [TRAIN_ARGS...]   (from the repository root; resumable:
#   finished folds are kept)   BOOTSTRAP=1000  RADDIAG=build/raddiag  PYTHON=python3
# Writes OUT_DIR/fold-K/ (runs), OUT_DIR/fold-K/eval-val, OUT_DIR/oof/{scores.npy,labels.npy,
# row_cases.txt,row_datasets.txt,label_dict.json,metrics.json}; prints the per-dataset table.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,12p "$0"; exit 2; }
CONFIG=$1
OUT=$2
shift 2
BIN=${RADDIAG:-build/raddiag}
BOOTSTRAP=${BOOTSTRAP:-1000}
PY=${PYTHON:-python3}
K=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("data", {}).get("folds", 0))' "$CONFIG")
if [ "$K" -lt 2 ]; then
  echo "$CONFIG: set data.folds (>= 2) for a cross-validation" >&2
  exit 2
fi
mkdir -p "$OUT"
evals=()
for ((k = 0; k < K; k++)); do
  run=$OUT/fold-$k
  if [ ! -f "$run/model.raddiag" ]; then
    if compgen -G "$run/checkpoints/step-*" > /dev/null; then   # stopped before its first checkpoint: start over
      "$BIN" train --resume "$run" > "$run.log" 2>&1
    else
      rm -rf "$run"
      "$BIN" train --config "$CONFIG" --fold "$k" --out "$run" "$@" > "$run.log" 2>&1
    fi
  fi
  [ -f "$run/eval-val/scores.npy" ] || "$BIN" evaluate --quiet --model "$run/model.raddiag" \
      --manifest "$run/val_cases.json" --bootstrap 0 --out "$run/eval-val" > /dev/null
  echo "fold $k of $K: $(grep -m1 'wall time' "$run.log" 2>/dev/null || echo trained)"
  evals+=("$run/eval-val")
done
"$PY" scripts/pool_folds.py "$OUT/oof" "${evals[@]}"
"$BIN" metrics --logits --scores "$OUT/oof/scores.npy" --labels "$OUT/oof/labels.npy" --label-dict "$OUT/oof/label_dict.json" \
  --row-groups "$OUT/oof/row_datasets.txt" --groups none --bootstrap "$BOOTSTRAP" --json --out "$OUT/oof/metrics.json"
echo
echo "## Out-of-fold within-dataset macro AUC ($K folds of $CONFIG; every case scored by a model that did not train on it)"
"$PY" scripts/real_sets_tables.py datasets "out-of-fold=$OUT/oof"
