#!/usr/bin/env bash
# Prepares what scripts/device-check.sh needs on a GPU machine without a package manager, as two files
# to carry there (together ~50 MB):
#   DEST/payload.tar.xz   src/ (git archive of HEAD), deps/usr (scripts/pack-deps-prefix.sh) and data/
#                         (the parity fixture without its 54 MB state_dict.bin, the real brain-MRI set,
#                         the RP3D demo cases)
#   DEST/parity.raddiag   the fixture's official checkpoint, imported with this checkout's raddiag
# On the GPU machine, from the folder holding DEST:
#   mkdir -p /tmp/dc && tar -xJf DEST/payload.tar.xz -C /tmp/dc &&
#   bash /tmp/dc/src/scripts/device-check.sh /tmp/dc/deps/usr /tmp/dc/data OUT_DIR DEST/parity.raddiag
# Usage: scripts/device-payload.sh DEST [RADDIAG_BINARY (default build/raddiag)]
set -euo pipefail
dest=$(mkdir -p "$1" && realpath "$1")
raddiag=$(realpath "${2:-build/raddiag}")
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${RADDIAG_SHARED_DATA:-$repo/../shared/data}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/data/official-parity" "$work/data/real"
git -C "$repo" archive HEAD | tar -x -C "$work/src"
"$repo/scripts/pack-deps-prefix.sh" "$work/deps" >/dev/null
(cd "$shared/official-parity" && tar --exclude=state_dict.bin --exclude=state_dict_plain.pt -cf - .) | tar -x -C "$work/data/official-parity"
cp -r "$shared/real/brain_tumor_mri" "$work/data/real/"
cp -r "$shared/rp3d-demo" "$work/data/"   # 3.4 MB: the paper recipe's demo cases
tar -C "$work" -cf - . | xz -T0 -6 >"$dest/payload.tar.xz"
"$raddiag" import-official "$shared/official-parity/state_dict.bin" --config "$shared/official-parity/config.json" \
  --labels "$shared/official-parity/label_dict.json" --out "$dest/parity.raddiag" >/dev/null
ls -la "$dest"
