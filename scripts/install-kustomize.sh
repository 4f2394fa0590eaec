#!/usr/bin/env bash
# Installs kustomize (Debian trixie's `kustomize` 5.6, a static Go binary) under .tools/kustomize/
# without touching the system's apt sources, as scripts/install-ptxas.sh does for ptxas: a private
# sources list, lists directory and cache under .tools/apt-kustomize, one .deb downloaded and
# unpacked with `dpkg -x`. tests/Mesh.Deploy.Tests builds every overlay of k8s/ with it.
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
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$dest/bin"
cat > "$apt_dir/sources.list" <<'SRC'
deb [signed-by=/usr/share/keyrings/debian-archive-trixie-automatic.gpg] http://deb.debian.org/debian trixie main
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

echo "install-kustomize: fetching trixie main package lists (private, under .tools/apt-kustomize)" >&2
apt-get "${apt_opts[@]}" -qq update

pkg=kustomize
(cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" -qq download "$pkg" 2>&1 | grep -v 'unsandboxed' >&2 || true)
found=$(ls "$apt_dir"/debs/${pkg}_*.deb 2>/dev/null | head -n1 || true)
if [[ -z $found ]]; then
  echo "install-kustomize: could not download $pkg from trixie main" >&2
  exit 1
fi

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
