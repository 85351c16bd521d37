#!/usr/bin/env bash
# One-shot check of raddiag on a CUDA machine that has PyTorch 2.x (its libtorch), a compiler, CMake and
# ninja but no package manager: configure and build against PyTorch's libtorch and a dependency prefix
# made by scripts/pack-deps-prefix.sh, then check the CUDA path end to end (info, CUDA tests, official
# parity through `predict --device cuda`, a short `train` on CUDA in fp32, bf16 and fp16, `diagnose` on CUDA,
# 3 steps of the paper recipe at full size)
# and time it against the same machine's CPU. Everything is logged to OUT_DIR; each step reports
# PASS/FAIL to OUT_DIR/summary.txt and a failing step does not stop the later independent ones.
#
# Usage: scripts/device-check.sh DEPS_PREFIX DATA_DIR OUT_DIR [PARITY_MODEL]
#   DEPS_PREFIX   the usr/ folder made by scripts/pack-deps-prefix.sh
#   DATA_DIR      holds official-parity/ (state_dict.bin may be left out) and real/brain_tumor_mri/
#   PARITY_MODEL  the fixture's official checkpoint after `raddiag import-official` (optional)
# Environment: BUILD_DIR (default /tmp/raddiag-build), JOBS (default: all cores), DEADLINE_S (default 390:
# the optional last step, the rest of test_nn, stops in time for it).
set -u -o pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
deps=$(realpath "$1")
data=$(realpath "$2")
out=$(mkdir -p "$3" && realpath "$3")
model=${4:+$(realpath "$4")}
build=${BUILD_DIR:-/tmp/raddiag-build}
jobs=${JOBS:-$(nproc)}
aux=$out/d  # everything else; packed into details.tar.gz at exit (few files come back from some runners)
mkdir -p "$aux"
trap 'tar -czf "$out/details.tar.gz" -C "$out" d && rm -rf "$aux"' EXIT
exec > >(tee "$out/device-check.log") 2>&1
t0=$SECONDS
step() { echo; echo "== [$((SECONDS - t0)) s] $*"; }
result() { echo "$1: $2" | tee -a "$out/summary.txt"; }
py=$(command -v python3)

step machine
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 || true
echo "cores: $(nproc)"; g++ --version | head -1; cmake --version | head -1; echo "ninja $(ninja --version)"
nvcc --version 2>&1 | tail -2 || true
torch_prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(),
"cxx11 abi", torch._C._GLIBCXX_USE_CXX11_ABI, "gpu", torch.cuda.is_available())'
torch_include=$(dirname "$torch_prefix")/../include
echo "libtorch include dir: $(ls "$torch_include" | tr '\n' ' ')"

step configure
export LD_LIBRARY_PATH=$deps/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
configure() {
  cmake -S "$src" -B "$build" -G Ninja -Wno-dev -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_prefix" \
    -DRADDIAG_DEPS_PREFIX="$deps" -DRADDIAG_BUILD_BENCH=OFF -DRADDIAG_TEST_PYTHON="$py" \
    -DCMAKE_POLICY_VERSION_MINIMUM=3.5 "$@" >"$out/cmake.log" 2>&1
}
if ! configure; then
  # Second try with the CUDA toolkit named explicitly (nvcc's folder), in case it is off the default paths.
  nvcc_dir=$(dirname "$(dirname "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")")
  rm -rf "$build"
  configure -DCUDAToolkit_ROOT="$nvcc_dir" -DCMAKE_CUDA_COMPILER="$nvcc_dir/bin/nvcc"
fi
rc=$?
grep -E "raddiag:|Error|error|Warning at|Could NOT" "$out/cmake.log" | head -40
if [ $rc -ne 0 ]; then
  tail -60 "$out/cmake.log"
  result configure "FAIL"
  exit 1
fi
result configure "PASS ($(grep -o 'raddiag: libtorch.*' "$out/cmake.log"))"

step build raddiag + test_nn with $jobs jobs
tb=$SECONDS
ninja -C "$build" -j "$jobs" -k 0 raddiag test_nn >"$aux/build.log" 2>&1
rc=$?
grep -E "error|warning: .*deprecated" "$aux/build.log" | sort | uniq -c | sort -rn | head -40
tail -5 "$aux/build.log"
result build "$([ $rc -eq 0 ] && echo PASS || echo FAIL) in $((SECONDS - tb)) s"
R=$build/raddiag
T=$build/tests/test_nn
[ -x "$R" ] || exit 1

step raddiag info
"$R" info --json | tee "$aux/info.json"
grep -q '"cuda_available": true' "$aux/info.json" && result info "PASS (CUDA listed)" || result info "FAIL (no CUDA device listed)"

export RADDIAG_SHARED_DATA=$data
if [ -x "$T" ]; then
  step CUDA tests
  "$T" --gtest_filter='Cuda*:DistributedNccl*:KnowledgePretrain.ResumeMovesTheStateAcrossDevices' 2>&1 | tee "$aux/test_cuda.log" | grep -vE '^\[ +(RUN|OK) '
  rc=${PIPESTATUS[0]}
  result cuda_tests "$([ $rc -eq 0 ] && echo PASS || echo FAIL) ($(grep -E '^\[  PASSED  \]|^\[  FAILED  \]|SKIPPED \]' "$aux/test_cuda.log" | head -3 | tr '\n' ' '))"
fi

parity_cmp() {  # logits.npy expected.npy label
  "$py" - "$@" <<'PY'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
d = float(np.abs(a - b).max())
print(f"{sys.argv[3]}: {a.shape[0]} cases x {a.shape[1]} classes, max |diff| = {d:.3e}")
sys.exit(0 if d <= 1e-4 else 3)
PY
}
pdir=$data/official-parity
if [ -n "$model" ] && [ -f "$model" ]; then
  step official parity through predict, CUDA and CPU
  for dev in cuda cpu; do
    s=$SECONDS
    "$R" predict --model "$model" --manifest "$pdir/cases.json" --out "$aux/parity_$dev.npy" --device $dev -q &&
      echo "predict --device $dev: $((SECONDS - s)) s"
  done
  parity_cmp "$aux/parity_cuda.npy" "$pdir/json_order/expected_logits.npy" "CUDA vs official" &&
    result parity_cuda "PASS ($(parity_cmp "$aux/parity_cuda.npy" "$pdir/json_order/expected_logits.npy" d | cut -d, -f2))" ||
    result parity_cuda "FAIL"
  "$R" predict --model "$model" --manifest "$pdir/cases.json" --out "$aux/parity_cuda_tf32.npy" --device cuda --tf32 -q
  parity_cmp "$aux/parity_cuda_tf32.npy" "$pdir/json_order/expected_logits.npy" "CUDA --tf32 vs official (information)"
  parity_cmp "$aux/parity_cpu.npy" "$pdir/json_order/expected_logits.npy" "CPU vs official (information)"
  parity_cmp "$aux/parity_cuda.npy" "$aux/parity_cpu.npy" "CUDA vs CPU" &&
    result predict_cuda_vs_cpu "PASS ($(parity_cmp "$aux/parity_cuda.npy" "$aux/parity_cpu.npy" d | cut -d, -f2))" ||
    result predict_cuda_vs_cpu "FAIL"
fi

train_run() {  # name device precision
  local cfg=$aux/$1.json
  "$py" - "$src/configs/tiny-real.json" "$data/real/brain_tumor_mri" "$2" "$3" "$cfg" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["data"]["train"] = [sys.argv[2]]
c["device"] = sys.argv[3]
c["optim"]["precision"] = sys.argv[4]
json.dump(c, open(sys.argv[5], "w"), indent=1)
PY
  local s=$SECONDS
  "$R" train --config "$cfg" --out "$build/runs/$1" -q >"$aux/$1.log" 2>&1
  local rc=$? el=$((SECONDS - s))
  grep -E "train:|macro AUC|precision|rror" "$aux/$1.log" | head -8
  local auc
  auc=$(grep -o 'validation macro AUC [0-9.]*' "$aux/$1.log" | tail -1)
  result "train_$1" "$([ $rc -eq 0 ] && echo PASS || echo FAIL) in ${el} s wall (60 steps x 8 cases incl. start and validation), $auc"
}
step train the tiny config on the real brain-MRI set: CUDA fp32, CUDA bf16, CUDA fp16, CPU
train_run cuda_fp32 cuda fp32
train_run cuda_bf16 cuda bf16
train_run cuda_fp16 cuda fp16
train_run cpu_fp32 cpu fp32

if [ -f "$build/runs/cuda_fp32/model.raddiag" ]; then
  step diagnose on CUDA vs CPU
  study=$data/real/brain_tumor_mri/images/Tr-me_0022.jpg
  for dev in cuda cpu; do
    "$R" diagnose "$study" --modality MRI --model "$build/runs/cuda_fp32/model.raddiag" --device $dev \
      --json "$aux/diag_$dev.json" --saliency "$build/saliency_$dev" >/dev/null 2>"$aux/diag_$dev.err"
    echo "diagnose --device $dev: rc $?"
  done
  "$py" - "$aux/diag_cuda.json" "$aux/diag_cpu.json" <<'PY' && result diagnose_cuda_vs_cpu "PASS" || result diagnose_cuda_vs_cpu "FAIL"
import json, sys
def probs(p):
    j = json.load(open(p))
    rows = j.get("findings") or j.get("results") or []
    return {r.get("disorder", r.get("name")): r.get("probability") for r in rows}
a, b = probs(sys.argv[1]), probs(sys.argv[2])
d = max(abs(a[k] - b[k]) for k in a) if a and a.keys() == b.keys() else float("nan")
print(f"diagnose probabilities, CUDA vs CPU: {len(a)} findings, max |diff| = {d:.2e}")
sys.exit(0 if d <= 1e-4 else 3)
PY
  # The CUDA run's newest checkpoint and model travel back, to be resumed and read on a CPU-only machine.
  newest=$(cd "$build/runs" && ls -d cuda_fp32/checkpoints/step-* | tail -1)
  tar -C "$build/runs" -czf "$aux/cuda_run.tar.gz" cuda_fp32/model.raddiag cuda_fp32/run_config.json cuda_fp32/vocabulary.json "$newest"
fi

step 'the paper recipe (configs/raddiag-paper.json) at full size on CUDA: 3 steps on the RP3D demo cases, every slice'
# ImageNet-format ResNet-50 weights (random: nothing is downloaded) from this machine's torchvision.
if [ -d "$data/rp3d-demo" ] && "$py" -c 'import torchvision' 2>/dev/null; then
  "$py" -c 'import sys, torch, torchvision; torch.save(torchvision.models.resnet50().state_dict(), sys.argv[1])' "$build/resnet50-random.pth"
  sed "s#\.\./shared/data#$data#g" "$src/configs/raddiag-paper.json" > "$build/raddiag-paper.json"
  start=$SECONDS
  "$R" train --config "$build/raddiag-paper.json" --init-from "$build/resnet50-random.pth" --device cuda --steps 3 \
    --out "$build/runs/paper" >"$aux/paper.log" 2>&1
  rc=$?
  grep -E "step [0-9]+/|train:|rror" "$aux/paper.log" | tail -6
  result paper_recipe_cuda "$([ $rc -eq 0 ] && echo PASS || echo FAIL) in $((SECONDS - start)) s wall (3 steps incl. start and 2 validations); step lines in d/paper.log"
else
  result paper_recipe_cuda "SKIP (no rp3d-demo data or no torchvision here)"
fi

if [ -x "$T" ]; then
  step the rest of test_nn on this machine '(2.x libtorch; tests needing absent data or Python modules fail or skip)'
  left=$((${DEADLINE_S:-390} - (SECONDS - t0) - 10))
  if [ $left -gt 20 ]; then
    timeout $left "$T" --gtest_filter='-Cuda*:DistributedNccl*:OfficialParity*' >"$aux/test_nn_rest.log" 2>&1
    echo "test_nn (rest) exit $? (time limit $left s)"
  fi
  grep -E '^\[  FAILED  \]|^\[  PASSED  \]|tests ran' "$aux/test_nn_rest.log" | head -40
fi
step done
cat "$out/summary.txt"
