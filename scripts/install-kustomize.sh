#!/usr/bin/env bash
# Installs kustomize (Debian trixie's `kustomize` 5.6, a static Go binary) under .tools/kustomize/
# without touching the system's apt sources (scripts/lib/trixie-deb.sh: a private sources list, lists
# directory and cache under .tools/apt-kustomize), one .deb unpacked with `dpkg -x`. tests/Mesh.Deploy.Tests builds every overlay of k8s/ with it.
#
# Idempotent: exits at once when .tools/kustomize/bin/kustomize already runs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dest=$root/.tools/kustomize
bin=$dest/bin/kustomize

if [[ -x $bin ]] && "$bin" version >/dev/null 2>&1; then
  exit 0
fi

apt_dir=$root/.tools/apt-kustomize
mkdir -p "$dest/bin"
source scripts/lib/trixie-deb.sh
found=$(trixie_deb main kustomize "$apt_dir")

unpack=$apt_dir/unpack
rm -rf "$unpack" && mkdir -p "$unpack"
dpkg -x "$found" "$unpack"
src=$(find "$unpack" -type f -path '*/bin/kustomize' | head -n1)
if [[ -z $src ]]; then
  echo "install-kustomize: $(basename "$found") holds no bin/kustomize" >&2
  exit 1
fi
cp "$src" "$bin"
chmod +x "$bin"
rm -rf "$unpack" "$apt_dir"
echo "install-kustomize: kustomize $("$bin" version) from $(basename "$found")" >&2
