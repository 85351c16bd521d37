#!/usr/bin/env bash
# Copies the non-torch build dependencies installed from Debian (headers, CMake packages, shared
# libraries and the libraries they load) into a relocatable prefix, DEST/usr/..., for building raddiag
# on a machine that has a compiler and libtorch but no package manager (e.g. a GPU box with PyTorch).
# Use it there with: cmake -DRADDIAG_DEPS_PREFIX=DEST/usr ... and LD_LIBRARY_PATH=DEST/usr/lib/x86_64-linux-gnu.
# glibc, libstdc++ and libgcc are not copied: the target's own (newer) ones are used.
set -euo pipefail
dest=${1:?usage: pack-deps-prefix.sh DEST}
packages=(
  libgdcm-dev libgdcm3.0 libcharls2 libopenjp2-7 libjson-c5 libexpat1 libuuid1 libssl3
  libniftiio-dev libniftiio2 libnifti2-dev libnifti2-2 libznz-dev libznz3 libpng-dev libpng16-16 libjpeg62-turbo-dev libjpeg62-turbo
  zlib1g-dev zlib1g nlohmann-json3-dev libfmt-dev libfmt9 libspdlog-dev libspdlog1.10 libcli11-dev libgtest-dev
)
mkdir -p "$dest/usr"
for p in "${packages[@]}"; do
  dpkg -L "$p" | while read -r f; do
    [[ -f $f || -L $f ]] || continue
    case $f in /usr/share/doc/* | /usr/share/man/* | /usr/share/lintian/* | /usr/bin/* | /usr/sbin/* | /etc/*) continue ;; esac
    case $f in
      *libssl.so*) continue ;;                     # only libcrypto is needed (GDCM)
      */libgtest*.a | */libgmock*.a) ;;            # GoogleTest is static only
      *.a) continue ;;                             # link the shared libraries
    esac
    rel=${f#/usr}  # Debian 12 still installs some libraries to /lib: fold them into usr/lib
    mkdir -p "$dest/usr$(dirname "$rel")"
    cp -a "$f" "$dest/usr$rel"
  done
done
# GDCM's exported targets check that its command-line tools exist; raddiag never runs them.
grep -o '{_IMPORT_PREFIX}/bin/[a-z0-9]*' "$dest/usr/lib/x86_64-linux-gnu/gdcm-3.0/GDCMTargets-none.cmake" |
  sed 's|{_IMPORT_PREFIX}|usr|' | while read -r b; do mkdir -p "$dest/$(dirname "$b")"; : >"$dest/$b"; done
du -sh "$dest"
