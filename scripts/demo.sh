#!/usr/bin/env bash
# The main job on bundled real data, from a fresh machine:
#   1. install system dependencies, build raddiag;
#   2. ingest the official RP3D demo cases (../shared/data/rp3d-demo) and print what was read;
#   3. import the official-format parity checkpoint and reproduce the official logits from raw cases;
#   4. when the training/diagnosis commands are built: train a tiny model on the real sets, evaluate it
#      (HTML report) and diagnose a held-out real case.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${RADDIAG_SHARED_DATA:-../shared/data}"
OUT="${OUT:-out/demo}"
BUILD_DIR="${BUILD_DIR:-build}"
bash scripts/install-deps.sh
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRADDIAG_BUILD_TESTS=OFF -DRADDIAG_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target raddiag
R="$BUILD_DIR/raddiag"
mkdir -p "$OUT"

echo "== runtime"
"$R" info

echo "== 1. RP3D demo cases (official case JSON, absolute author paths remapped)"
"$R" inspect-manifest "$DATA/rp3d-demo/RP3D_Demo/DataPath/demoData.json" \
  --labels "$DATA/rp3d-demo/RP3D_Demo/DataPath/disorder_label_dict.json" --tensors

echo "== 2. official checkpoint -> raddiag model file, logits vs the official implementation"
"$R" import-official "$DATA/official-parity/state_dict.bin" --config "$DATA/official-parity/config.json" \
  --labels "$DATA/official-parity/label_dict.json" --out "$OUT/parity.raddiag"
"$R" model show "$OUT/parity.raddiag"
"$R" predict --model "$OUT/parity.raddiag" --manifest "$DATA/official-parity/cases.json" --out "$OUT/parity_logits.npy"
/usr/bin/python3 - "$OUT/parity_logits.npy" "$DATA/official-parity/json_order/expected_logits.npy" <<'PY'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
print(f"parity: {a.shape[0]} cases x {a.shape[1]} classes, max |raddiag - official| = {np.abs(a - b).max():.2e} (tolerance 1e-4)")
PY

if "$R" train --help >/dev/null 2>&1 && [ -f configs/tiny-real.json ]; then
  echo "== 3. train a tiny model on the real sets"
  rm -rf "$OUT/run" "$OUT/eval" "$OUT/saliency"   # the demo starts fresh each time
  "$R" train --config configs/tiny-real.json --out "$OUT/run"
  if "$R" evaluate --help >/dev/null 2>&1; then
    echo "== 4. evaluate on the held-out validation cases (report: $OUT/eval/report.html)"
    "$R" evaluate --model "$OUT/run/model.raddiag" --manifest "$OUT/run/val_cases.json" --out "$OUT/eval" --bootstrap 200 --store-thresholds
  fi
  if "$R" diagnose --help >/dev/null 2>&1; then
    # A case the model never trained on: the first validation case whose labels are not "normal", else the first.
    STUDY=$(/usr/bin/python3 - "$OUT/run/val_cases.json" <<'PY'
import json, sys
cases = json.load(open(sys.argv[1]))
def labels(c): return [l for s in c.get("Samples", []) for l in s.get("articles", s.get("Article", []))] + c.get("articles", [])
pick = next((c for c in cases.values() if any(not any(w in str(l).lower() for w in ("normal", "no ")) for l in labels(c))), next(iter(cases.values())))
print(pick["Samples"][0]["image_data_path"][0] if "Samples" in pick else next(iter(pick.values())))
PY
)
    echo "== 5. diagnose a held-out real study: $STUDY"
    "$R" diagnose "$STUDY" --modality MRI --model "$OUT/run/model.raddiag" --json "$OUT/diagnosis.json" --saliency "$OUT/saliency"
  fi
fi
echo "demo done: outputs in $OUT"
