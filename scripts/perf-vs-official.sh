#!/usr/bin/env bash
# Whole-process speed per case: official implementation (its early-fusion forward re-stated in
# bench/py/official_reference.py, run by Debian's python3-torch) vs `raddiag predict` fp32 and bf16, released
# configuration (random weights of the released layout), same real cases, batch 1, 2 threads each, side by side
# in this one script under /usr/bin/time -v. Ratios are what to read on a shared machine (load is printed).
#
#   scripts/perf-vs-official.sh OUT_DIR [--cases K] [--threads T] [--table-only]
#
# --table-only reprints the table from the files of an earlier run in OUT_DIR (same --cases/--threads).
# Env: RADDIAG (default build/raddiag), PYTHON (default /usr/bin/python3), SHARED (default ../shared).
# Writes under OUT_DIR: released/ (checkpoint), released.raddiag, cases-K/ (case set), <run>.npy logits,
# <run>.time (time -v), official.json (per-case seconds), table.md (the result table).
set -euo pipefail

usage() { echo "usage: $0 OUT_DIR [--cases K] [--threads T] [--table-only]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
OUT=$1; shift
CASES=6; THREADS=2; TABLE_ONLY=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --cases) CASES=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --table-only) TABLE_ONLY=1; shift ;;
    *) usage ;;
  esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RADDIAG=${RADDIAG:-$ROOT/build/raddiag}
PYTHON=${PYTHON:-/usr/bin/python3}
SHARED=${SHARED:-$ROOT/../shared}
[[ $TABLE_ONLY == 1 || -x $RADDIAG ]] || { echo "$0: no raddiag binary at $RADDIAG (set RADDIAG)" >&2; exit 1; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if [[ $TABLE_ONLY == 0 ]]; then
# 1. Released-layout checkpoint and its raddiag import (deterministic: seed 0), made once.
if [[ ! -f $OUT/released/pytorch_model.bin ]]; then
  "$PYTHON" "$ROOT/bench/py/make_released_checkpoint.py" \
    --keys "$SHARED/data/official-parity/official-keys-default.tsv" --out "$OUT/released"
fi
if [[ ! -f $OUT/released.raddiag ]]; then
  "$RADDIAG" import-official "$OUT/released/pytorch_model.bin" \
    --labels "$OUT/released/label_dict.json" --out "$OUT/released.raddiag"
fi

# 2. The case set at the released geometry.
SET=$OUT/cases-$CASES
rm -rf "$SET"
"$PYTHON" "$ROOT/bench/py/make_released_cases.py" --real "$SHARED/data/real" --out "$SET" --cases "$CASES"

# 3. The runs. Every run gets the same thread caps; OMP/MKL variables bound any library-internal pool too.
export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
timed() { local name=$1; shift; /usr/bin/time -v -o "$OUT/$name.time" "$@"; }
echo "load before: $(uptime)" | tee "$OUT/load.txt"
timed official "$PYTHON" "$ROOT/bench/py/official_predict.py" --model "$OUT/released/pytorch_model.bin" \
  --labels "$OUT/released/label_dict.json" --manifest "$SET/cases.json" --data-root "$SET" \
  --out "$OUT/official.npy" --threads "$THREADS" | tail -n 1 > "$OUT/official.json"
echo "after official: $(uptime)" | tee -a "$OUT/load.txt"
timed raddiag_fp32 "$RADDIAG" predict --model "$OUT/released.raddiag" --manifest "$SET/cases.json" \
  --data-root "$SET" --out "$OUT/raddiag_fp32.npy" -q --batch 1 --draws 1 --threads "$THREADS"
echo "after fp32: $(uptime)" | tee -a "$OUT/load.txt"
timed raddiag_bf16 "$RADDIAG" predict --model "$OUT/released.raddiag" --manifest "$SET/cases.json" \
  --data-root "$SET" --out "$OUT/raddiag_bf16.npy" -q --batch 1 --draws 1 --threads "$THREADS" --precision bf16
echo "load after: $(uptime)" | tee -a "$OUT/load.txt"
fi

# 4. Logit agreement and the table.
"$PYTHON" - "$OUT" "$CASES" "$THREADS" <<'EOF' | tee "$OUT/table.md"
import json, re, sys
import numpy as np
out, cases, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def parse_time(path):
    t = {}
    for line in open(path):
        k, _, v = line.strip().rpartition(": ")
        t[k] = v
    h_m_s = [float(p) for p in t["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":")]
    wall = sum(p * 60 ** i for i, p in enumerate(reversed(h_m_s)))
    return wall, float(t["User time (seconds)"]), float(t["System time (seconds)"]), \
        int(t["Maximum resident set size (kbytes)"]), int(t["Exit status"])

ref = np.load(f"{out}/official.npy")
official = json.load(open(f"{out}/official.json"))
rows = [("official (reference forward, every slice)", "official"),
        ("raddiag predict fp32", "raddiag_fp32"), ("raddiag predict bf16", "raddiag_bf16")]
base_wall, base_user, base_sys = parse_time(f"{out}/official.time")[:3]
print(f"{cases} cases, batch 1, {threads} threads; logits [{ref.shape[0]} x {ref.shape[1]}], "
      f"official |logit| max {np.abs(ref).max():.3f}")
print(f"official per-case seconds (loader + forward, in process): {official['per_case_s']}, "
      f"model load {official['model_load_s']} s")
print()
print("| run | wall s | user s | sys s | peak RSS GB | wall s/case | official wall / wall | "
      "official CPU / CPU (user+sys) | max abs logit diff vs official |")
print("|---|---|---|---|---|---|---|---|---|")
for label, name in rows:
    wall, user, sys_s, rss, rc = parse_time(f"{out}/{name}.time")
    got = np.load(f"{out}/{name}.npy")
    diff = "-" if name == "official" else f"{np.abs(got - ref).max():.2e}"
    status = "" if rc == 0 else f" (exit {rc})"
    print(f"| {label}{status} | {wall:.1f} | {user:.1f} | {sys_s:.1f} | {rss / 1024 ** 2:.2f} | "
          f"{wall / cases:.1f} | {base_wall / wall:.2f} | {(base_user + base_sys) / (user + sys_s):.2f} | {diff} |")
EOF
cat "$OUT/load.txt"
