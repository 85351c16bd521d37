#!/usr/bin/env bash
# The knowledge-head evidence of docs/knowledge-head.md, end to end on the real sets (about 15 minutes
# on 2 CPU cores): knowledge corpus -> small text encoder pre-training (Recall@k before/after) -> the tiny
# image model with the MLP head and with the knowledge head on the four real sets combined, two classes
# held out of training -> evaluation, rarest classes, zero-shot AUC of the held-out names; a control
# with an untrained encoder.
# Run from the repository root after building (build/raddiag). Outputs in runs/ke (the configs name it).
set -euo pipefail
OUT=runs/ke
R=build/raddiag
SHARED=${RADDIAG_SHARED_DATA:-../shared/data}
SEEDS=${SEEDS:-"7 8 9"}
mkdir -p "$OUT"

# 1. Label vocabulary: the 5,569 RP3D disorders plus the real sets' labels that are not among them.
python3 - "$SHARED" "$OUT/labels_all.json" <<'PY'
import csv, glob, json, sys
shared, out = sys.argv[1:]
names = list(json.load(open(shared + "/rp3d-demo/RP3D_Demo/DataPath/disorder_label_dict.json")))
low = {n.lower() for n in names}
for f in sorted(glob.glob(shared + "/real/*/labels.csv")):
    for r in csv.DictReader(open(f)):
        for l in r["labels"].split(";"):
            if l and l.lower() not in low:
                names.append(l); low.add(l.lower())
json.dump({n: i for i, n in enumerate(names)}, open(out, "w"))
PY
$R knowledge build-corpus --labels "$OUT/labels_all.json" \
  --manifest "$SHARED/rp3d-demo/RP3D_Demo/DataPath/demoData.json" --out "$OUT/knowledge.jsonl"
# 2. A small BERT (128-d, 2 layers, 4,000-token WordPiece) pre-trained on it; Recall@1/@10 before/after.
[ -f "$OUT/text/metrics.json" ] || $R knowledge pretrain --corpus "$OUT/knowledge.jsonl" --out "$OUT/text" \
  --steps 500 --batch-size 64 --vocab-size 4000 --held-out 0.1 --seed 0
# 3. Combined real data, 'viral pneumonia' and 'malignant nodule' never trained on.
python3 scripts/knowledge_evidence_data.py "$OUT/data" --real "$SHARED/real" \
  --hold-out "viral pneumonia" "malignant nodule"
# The trained classes plus the two held-out names, for zero-shot evaluation.
python3 -c "import json,sys; print('\n'.join(list(json.load(open(sys.argv[1])))+['viral pneumonia','malignant nodule']))" \
  "$OUT/data/vocabulary.json" > "$OUT/zero_shot_classes.txt"
# 4. Same tiny model, same data and seed, MLP head vs knowledge head; evaluation on the validation set.
for seed in $SEEDS; do
  for head in mlp knowledge; do
    run=$OUT/$head-s$seed
    [ -f "$run/model.raddiag" ] || $R train --quiet --config configs/ke-evidence-$head.json --out "$run" --seed "$seed"
    $R evaluate -q --model "$run/model.raddiag" --manifest "$OUT/data/val" --out "$run/eval" --bootstrap 0 > /dev/null
  done
  $R evaluate -q --model "$OUT/knowledge-s$seed/model.raddiag" --manifest "$OUT/data/val" \
    --classes "$OUT/zero_shot_classes.txt" --out "$OUT/knowledge-s$seed/eval_zs" --bootstrap 0 > /dev/null
  # The MLP head cannot score the held-out names: expect a clear refusal.
  if $R predict -q --model "$OUT/mlp-s$seed/model.raddiag" --manifest "$OUT/data/val" \
       --classes "$OUT/zero_shot_classes.txt" --out "$OUT/mlp-s$seed/zs.npy" 2> "$OUT/mlp-s$seed/zs.err"; then
    echo "unexpected: the MLP head scored new names" >&2; exit 1
  fi
done
# 5. Control: the knowledge head with the same encoder after 1 pre-training step (practically random).
[ -f "$OUT/text-untrained/metrics.json" ] || $R knowledge pretrain --corpus "$OUT/knowledge.jsonl" \
  --out "$OUT/text-untrained" --steps 1 --batch-size 64 --vocab-size 4000 --held-out 0.1 --seed 0
for seed in $SEEDS; do
  run=$OUT/knowledge-untrained-s$seed
  [ -f "$run/model.raddiag" ] || $R train --quiet --config configs/ke-evidence-knowledge-untrained.json --out "$run" --seed "$seed"
  $R evaluate -q --model "$run/model.raddiag" --manifest "$OUT/data/val" \
    --classes "$OUT/zero_shot_classes.txt" --out "$run/eval_zs" --bootstrap 0 > /dev/null
done
/usr/bin/python3 scripts/knowledge_evidence_eval.py "$OUT/data" \
  $(for s in $SEEDS; do echo "$OUT/mlp-s$s/eval $OUT/knowledge-s$s/eval_zs $OUT/knowledge-untrained-s$s/eval_zs"; done)
