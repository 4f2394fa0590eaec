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
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$dest"
cat > "$apt_dir/sources.list" <<'SRC'
deb [signed-by=/usr/share/keyrings/debian-archive-trixie-automatic.gpg] http://deb.debian.org/debian trixie non-free
SRC
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::State::status=/dev/null"
  -o "APT::Architecture=amd64"
  -o "APT::Architectures=amd64"
  -o "Debug::NoLocking=1"
)

echo "install-ptxas: fetching trixie non-free package lists (private, under .tools/apt)" >&2
apt-get "${apt_opts[@]}" -qq update

# `dpkg -c` shows ./usr/bin/ptxas inside nvidia-cuda-toolkit itself (87 MB); its dependencies
# (nvidia-cuda-dev alone is ~900 MB) are not needed to assemble PTX, so only this one .deb is fetched.
pkg=nvidia-cuda-toolkit
found=$(ls "$apt_dir"/debs/${pkg}_*.deb 2>/dev/null | head -n1 || true)
if [[ -z $found ]]; then
  # apt's download sandbox user cannot write under /work; the warning about that is harmless.
  (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" -qq download "$pkg" 2>&1 | grep -v 'unsandboxed' >&2 || true)
  found=$(ls "$apt_dir"/debs/${pkg}_*.deb 2>/dev/null | head -n1 || true)
fi
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
