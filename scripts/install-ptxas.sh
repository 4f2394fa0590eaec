#!/usr/bin/env bash
# Installs ptxas (the PTX assembler) under .tools/ptxas/ without touching the system's apt sources.
#
# Why this way: ptxas is the only tool that proves a hand-written .ptx file assembles for a target
# (sm_80, sm_90, sm_90a) and reports its registers and spills, and CI has no GPU and no CUDA
# toolkit. Debian trixie's non-free `nvidia-cuda-toolkit` 12.4 ships it and runs on bookworm. We
# point apt at a private sources list, lists directory and cache (all under .tools/apt), download
# the one .deb that holds bin/ptxas, and unpack it with `dpkg -x`: nothing is installed system-wide.
#
# Idempotent: exits at once when .tools/ptxas/bin/ptxas already runs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dest=$root/.tools/ptxas
ptxas=$dest/bin/ptxas

if [[ -x $ptxas ]] && "$ptxas" --version >/dev/null 2>&1; then
  exit 0
fi

apt_dir=$root/.tools/apt
mkdir -p "$dest"
source scripts/lib/trixie-deb.sh
# `dpkg -c` shows ./usr/bin/ptxas inside nvidia-cuda-toolkit itself (87 MB); its dependencies
# (nvidia-cuda-dev alone is ~900 MB) are not needed to assemble PTX, so only this one .deb is fetched.
pkg=nvidia-cuda-toolkit
found=$(trixie_deb non-free "$pkg" "$apt_dir")
if [[ -z $found ]] || ! dpkg -c "$found" | awk '$NF ~ /\/bin\/ptxas$/ { hit = 1 } END { exit !hit }'; then
  echo "install-ptxas: could not download $pkg from trixie non-free, or it holds no bin/ptxas" >&2
  exit 1
fi

unpack=$apt_dir/unpack
rm -rf "$unpack" && mkdir -p "$unpack"
dpkg -x "$found" "$unpack"
src=$(find "$unpack" -type f -path '*/bin/ptxas' | head -n1)
mkdir -p "$dest/bin"
cp "$src" "$ptxas"
chmod +x "$ptxas"
rm -rf "$unpack" "$apt_dir"/debs/*.deb   # the 87 MB package is not needed once ptxas is out
echo "install-ptxas: $("$ptxas" --version | tail -n1) from $(basename "$found")" >&2
