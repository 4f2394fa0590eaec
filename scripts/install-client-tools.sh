#!/usr/bin/env bash
# Installs what the Python and Node client tests (tests/Mesh.Gateway.Tests/Clients) need:
# Debian's python3-grpcio, python3-protobuf, protobuf-compiler (protoc), libprotobuf-dev (the
# well-known types protoc imports, google/protobuf/*.proto: a recommends of protoc that
# --no-install-recommends leaves out) and protobuf-compiler-grpc
# (grpc_python_plugin) from the machine's own apt sources, and clients/node's pinned packages with
# `npm ci`. Each step is skipped when what it installs is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc libprotobuf-dev)
missing=()
for deb in "${debs[@]}"; do
  dpkg -s "$deb" >/dev/null 2>&1 || missing+=("$deb")
done
if ((${#missing[@]})); then
  echo "install-client-tools: apt-get install ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -d clients/node/node_modules/@grpc/grpc-js ]]; then
  echo "install-client-tools: npm ci in clients/node" >&2
  (cd clients/node && npm ci --no-audit --no-fund --loglevel=error)
fi
