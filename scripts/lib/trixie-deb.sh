# Sourced by the install-*.sh scripts: fetch one .deb from Debian trixie without touching the
# system's apt sources. A private sources list, lists directory and cache live under the folder
# given; apt-get downloads the one package (its dependencies are not needed: the tools are used
# straight from the unpacked tree) and the caller unpacks it with `dpkg -x`.

# trixie_deb COMPONENT PACKAGE APT_DIR: prints the path of the downloaded PACKAGE_*.deb (reusing one
# already in APT_DIR/debs), or fails with a message on stderr.
trixie_deb() {
  local component=$1 pkg=$2 apt_dir=$3 found
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
  found=$(ls "$apt_dir"/debs/"${pkg}"_*.deb 2>/dev/null | head -n1 || true)
  if [[ -n $found ]]; then
    echo "$found"
    return 0
  fi
  cat > "$apt_dir/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-trixie-automatic.gpg] http://deb.debian.org/debian trixie $component
SRC
  local apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::Cache=$apt_dir/cache"
    -o "Dir::State::status=/dev/null"
    -o "APT::Architecture=amd64"
    -o "APT::Architectures=amd64"
    -o "Debug::NoLocking=1"
  )
  echo "trixie-deb: fetching trixie $component package lists (private, under ${apt_dir#"$PWD"/})" >&2
  apt-get "${apt_opts[@]}" -qq update
  # apt's download sandbox user cannot write under /work; the warning about that is harmless.
  (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" -qq download "$pkg" 2>&1 | grep -v 'unsandboxed' >&2 || true)
  found=$(ls "$apt_dir"/debs/"${pkg}"_*.deb 2>/dev/null | head -n1 || true)
  if [[ -z $found ]]; then
    echo "trixie-deb: could not download $pkg from trixie $component" >&2
    return 1
  fi
  echo "$found"
}
