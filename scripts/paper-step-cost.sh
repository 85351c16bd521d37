#!/usr/bin/env bash
# What one training step of the paper recipe (configs/raddiag-paper.json) costs on this machine
# (docs/training.md): the every-slice path at depth 4 and 8 with 4 slots (the cost per slice and the
# fixed part, to extrapolate to the full 32 x 8 slots), and the fast path at full size with anatomy
# mixing. Random ImageNet-format ResNet-50 weights from python3-torchvision (nothing is downloaded).
# Usage: scripts/paper-step-cost.sh [OUT_DIR]   (from the repository root; RADDIAG=build/raddiag PYTHON=python3)
set -u
cd "$(dirname "$0")/.."
BIN=${RADDIAG:-build/raddiag}
PY=${PYTHON:-python3}
E=${1:-out/paper-step-cost}
mkdir -p "$E"
[ -f "$E/resnet50.pth" ] || "$PY" -c 'import sys, torch, torchvision; torch.save(torchvision.models.resnet50().state_dict(), sys.argv[1])' "$E/resnet50.pth"
run() {  # name, model patch (JSON), mixing n_aug, steps
  local name=$1 patch=$2 naug=$3 steps=$4
  "$PY" - "$patch" "$naug" "$E/$name.json" <<'PY'
import json, sys
c = json.load(open("configs/raddiag-paper.json"))
c["model"] = {"preset": "released", **json.loads(sys.argv[1])}
c["mixing"]["n_aug"] = int(sys.argv[2])
c["threads"] = 2
json.dump(c, open(sys.argv[3], "w"), indent=1)
PY
  rm -rf "$E/run-$name"
  /usr/bin/time -v "$BIN" train --quiet --config "$E/$name.json" --init-from "$E/resnet50.pth" --steps "$steps" \
    --out "$E/run-$name" > "$E/$name.log" 2>&1
  echo "== $name: rc $?, peak RSS $(grep 'Maximum resident' "$E/$name.log" | awk '{print $NF}') kB, load $(cut -d' ' -f1-3 /proc/loadavg)"
  "$PY" -c "import json,sys; print('   s per step:', [round(json.loads(l).get('window_s', 0), 1) for l in open(sys.argv[1]) if json.loads(l).get('type') == 'train'])" \
    "$E/run-$name/log.jsonl"
}
run every_d4_slots4 '{"depth": 4}' 1 3
run every_d8_slots4 '{"depth": 8}' 1 3
run fast_d32_mix2 '{"train_all_slices": false}' 2 3
