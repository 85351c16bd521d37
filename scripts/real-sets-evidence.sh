#!/usr/bin/env bash
# Issue 13 evidence (docs/real-data.md): trains the real-sets recipe (configs/real-sets.json) on the four
# folders of ../shared/data/real-train and prints the within-dataset table on its own validation split
# (inside real-train) and on the untouched external set ../shared/data/real. Then the recipe's ensemble:
# the same config with the seeds of EXTRA_SEEDS (the same validation split, data.split_seed), scored
# together with `evaluate --ensemble`, and a table of every seed and the ensemble. Before that, the recipe's
# specialists (SPECIALISTS, configs/real-sets-specialist-NAME.json: one source each, on the recipe's own split)
# scored with the recipe's model as an ensemble where each specialist joins on its own modality (infer/ensemble.h),
# paired against the recipe alone. With LEVERS=1 it also trains
# every lever of configs/real-sets-levers.json (one change at a time on the lever base) and prints the
# lever table (within-dataset macro AUC per dataset on the validation split, and their mean).
# Usage: scripts/real-sets-evidence.sh [OUT_DIR]   (from the repository root; resumable: finished runs are kept)
#   LEVERS=1  also run the levers      BOOTSTRAP=1000  CI rounds      RADDIAG=build/raddiag
#   SPECIALISTS="brain nodule us"  the specialists ("" = none)
#   EXTRA_SEEDS="43 44"  the ensemble's other seeds ("" = no ensemble)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${RADDIAG:-build/raddiag}
DATA=${RADDIAG_SHARED_DATA:-../shared/data}
OUT=${1:-out/real-sets-evidence}
BOOTSTRAP=${BOOTSTRAP:-1000}
PY=${PYTHON:-python3}
SOURCES="brain_tumor_mri covid_cxr_ct lidc_nodule_ct3d lung_ultrasound_pocus"
mkdir -p "$OUT"

# The external test set as one folder (each case keeps its source as its dataset).
"$PY" scripts/combine_sets.py "$OUT/real-all" $(for s in $SOURCES; do echo "$DATA/real/$s"; done) > /dev/null

# train RUN_DIR CONFIG [ARGS...]: trains (or resumes) a run unless its model file exists.
train() {
  local run=$1 config=$2
  shift 2
  if [ -f "$run/model.raddiag" ]; then return; fi
  if compgen -G "$run/checkpoints/step-*" > /dev/null; then   # a run stopped before its first checkpoint starts over
    "$BIN" train --resume "$run" > "$run.log" 2>&1
  else
    rm -rf "$run"
    "$BIN" train --config "$config" --out "$run" "$@" > "$run.log" 2>&1
  fi
  tail -n 2 "$run.log"
}
# evaluate RUN_DIR [--ensemble MODEL...]: the run's own validation split and the external set, into
# RUN_DIR/eval-val and RUN_DIR/eval-real (EVAL_TAG=-x writes eval-val-x, eval-real-x).
evaluate() {
  local run=$1 tag=${EVAL_TAG:-}
  shift
  [ -f "$run/eval-val$tag/metrics.json" ] || "$BIN" evaluate --quiet --model "$run/model.raddiag" "$@" \
      --manifest "$run/val_cases.json" --bootstrap "$BOOTSTRAP" --out "$run/eval-val$tag" > /dev/null
  [ -f "$run/eval-real$tag/metrics.json" ] || "$BIN" evaluate --quiet --model "$run/model.raddiag" "$@" \
      --manifest "$OUT/real-all" --bootstrap "$BOOTSTRAP" --out "$run/eval-real$tag" > /dev/null
}

# 1. The recipe.
start=$(date +%s)
train "$OUT/recipe" configs/real-sets.json
evaluate "$OUT/recipe"
echo "recipe: trained and evaluated in $(( $(date +%s) - start )) s (0 when already done); run folder $OUT/recipe"
echo
echo "## Within-dataset macro AUC of the recipe (configs/real-sets.json)"
"$PY" scripts/real_sets_tables.py datasets "validation split (real-train)=$OUT/recipe/eval-val" \
  "external (../shared/data/real)=$OUT/recipe/eval-real"

# 1b. Specialists: a model of one source each (data.datasets keeps that source's cases of the recipe's split),
# averaged with the recipe's model for its classes on the cases of its modality.
SPECIALISTS=${SPECIALISTS-brain nodule us}
if [ -n "$SPECIALISTS" ]; then
  start=$(date +%s)
  members=()
  for s in $SPECIALISTS; do
    train "$OUT/specialist-$s" "configs/real-sets-specialist-$s.json"
    members+=(--ensemble "$OUT/specialist-$s/model.raddiag")
  done
  EVAL_TAG=-specialists evaluate "$OUT/recipe" "${members[@]}"
  echo "specialists ($SPECIALISTS): trained and evaluated in $(( $(date +%s) - start )) s (0 when already done)"
  echo
  echo "## Within-dataset macro AUC of the recipe with its specialists ($SPECIALISTS)"
  "$PY" scripts/real_sets_tables.py datasets "validation split (real-train)=$OUT/recipe/eval-val-specialists" \
    "external (../shared/data/real)=$OUT/recipe/eval-real-specialists"
  echo
  "$PY" scripts/real_sets_tables.py seeds "recipe=$OUT/recipe" "recipe + specialists=$OUT/recipe/eval--specialists"
  for part in val real; do
    echo
    echo "## Recipe + specialists against the recipe alone, paired on the same cases ($part; bootstrap within each dataset)"
    "$PY" scripts/real_sets_tables.py paired "$BOOTSTRAP" "$OUT/recipe/eval-$part-specialists" "recipe=$OUT/recipe/eval-$part"
  done
  echo
fi

# 2. The ensemble: the recipe again with other seeds. data.split_seed keeps the validation split, so the
# members and the ensemble are scored on the same held-out cases.
EXTRA_SEEDS=${EXTRA_SEEDS-43 44}
if [ -n "$EXTRA_SEEDS" ]; then
  start=$(date +%s)
  members=()
  seeds=("seed 42=$OUT/recipe")
  for s in $EXTRA_SEEDS; do
    train "$OUT/recipe-seed$s" configs/real-sets.json --seed "$s"
    evaluate "$OUT/recipe-seed$s"
    if ! cmp -s "$OUT/recipe/val_cases.json" "$OUT/recipe-seed$s/val_cases.json"; then
      echo "seed $s has another validation split than seed 42: is data.split_seed set in configs/real-sets.json?" >&2
      exit 1
    fi
    members+=(--ensemble "$OUT/recipe-seed$s/model.raddiag")
    seeds+=("seed $s=$OUT/recipe-seed$s")
  done
  EVAL_TAG=-ensemble evaluate "$OUT/recipe" "${members[@]}"
  echo "ensemble: trained and evaluated in $(( $(date +%s) - start )) s (0 when already done)"
  echo
  echo "## Within-dataset macro AUC of the ensemble (logits of seeds 42 $EXTRA_SEEDS averaged)"
  "$PY" scripts/real_sets_tables.py datasets "validation split (real-train)=$OUT/recipe/eval-val-ensemble" \
    "external (../shared/data/real)=$OUT/recipe/eval-real-ensemble"
  echo
  echo "## Every seed and the ensemble (within-dataset macro AUC; validation split | external set)"
  specs=()
  for spec in "${seeds[@]}" "ensemble=$OUT/recipe/eval--ensemble"; do specs+=("$spec"); done
  "$PY" scripts/real_sets_tables.py seeds "${specs[@]}"
  for part in val real; do
    echo
    label=$([ "$part" = val ] && echo "validation split" || echo "external set")
    echo "## Ensemble against its members, paired on the same cases ($label; bootstrap within each dataset)"
    pairs=()
    for spec in "${seeds[@]}"; do pairs+=("${spec%%=*}=${spec#*=}/eval-$part"); done
    "$PY" scripts/real_sets_tables.py paired "$BOOTSTRAP" "$OUT/recipe/eval-$part-ensemble" "${pairs[@]}"
  done
fi

# 3. The levers (LEVERS=1): base + one merge patch each.
if [ "${LEVERS:-0}" = 1 ]; then
  mkdir -p "$OUT/levers"
  names=$("$PY" scripts/merge_config.py configs/real-sets-levers.json levers --list)
  printf 'lever\t%s\tval mean\treal mean\n' "$(echo $SOURCES | tr ' ' '\t')" > "$OUT/levers.tsv"
  while IFS= read -r name; do
    slug=$(echo "$name" | tr -c 'A-Za-z0-9\n' '-')
    "$PY" scripts/merge_config.py configs/real-sets-levers.json levers "$name" "$OUT/levers/$slug.json"
    train "$OUT/levers/$slug" "$OUT/levers/$slug.json" > /dev/null
    evaluate "$OUT/levers/$slug"
    "$PY" - "$name" "$OUT/levers/$slug" $SOURCES >> "$OUT/levers.tsv" <<'PY'
import json, sys
name, run, sources = sys.argv[1], sys.argv[2], sys.argv[3:]
val = json.load(open(f"{run}/eval-val/metrics.json"))["by_dataset"]
real = json.load(open(f"{run}/eval-real/metrics.json"))["by_dataset"]
auc = {d["name"]: d["macro"].get("auc") for d in val["datasets"]}
cells = [f"{auc[s]:.3f}" if auc.get(s) is not None else "-" for s in sources]
print("\t".join([name] + cells + [f'{val["within_dataset_mean"]["macro"]["auc"]:.3f}', f'{real["within_dataset_mean"]["macro"]["auc"]:.3f}']))
PY
    tail -n 1 "$OUT/levers.tsv"
  done <<< "$names"
  echo
  echo "## Levers (within-dataset macro AUC on the validation split; real = the external set's within-dataset mean)"
  "$PY" scripts/real_sets_tables.py levers "$OUT/levers.tsv"
fi
