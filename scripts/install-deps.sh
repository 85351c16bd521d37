#!/usr/bin/env bash
# Installs every system dependency of raddiag from Debian's archive (run as root, or with sudo).
# Build: libtorch (+ OpenBLAS: without it Debian's libtorch uses reference BLAS, ~9x slower GEMM),
# the imaging libraries (nifticlib, GDCM, libpng, libjpeg), JSON/CLI/HTTP/logging headers, test tools.
# Test-only: Debian's Python with numpy/nibabel/pydicom/sklearn/torch/torchvision, used as independent references.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libgloo-dev libopenblas0-pthread libopenblas-dev
  libnifti2-dev libgdcm-dev libgdcm-tools libpng-dev libjpeg-dev zlib1g-dev
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev
  python3 python3-numpy python3-nibabel python3-pydicom python3-sklearn python3-torch python3-torchvision python3-pil
  libdcmtk-dev dcmtk dicom3tools orthanc orthanc-dicomweb
  libsqlite3-dev sqlite3 chromium fonts-dejavu-core
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# FHIR R4 JSON-schema validator of the result tests (tests/export/fhir_validator: exact versions pinned
# in its package-lock.json); the tests skip that check, with a message, where node is absent.
if command -v npm >/dev/null 2>&1; then
  here="$(cd "$(dirname "$0")/.." && pwd)"
  npm ci --no-audit --no-fund --prefix "$here/tests/export/fhir_validator" >/dev/null && echo "install-deps: FHIR validator installed"
  # puppeteer-core (exact version in tests/http/browser/package-lock.json) drives Debian's chromium in the
  # `raddiag serve` web page test; it downloads no browser.
  npm ci --no-audit --no-fund --prefix "$here/tests/http/browser" >/dev/null && echo "install-deps: puppeteer-core installed"
fi
