#!/usr/bin/env bash
# Generates the Python stubs of protos/ into a folder (default clients/python/gen, git-ignored):
#   clients/python/generate.sh [out-dir]
# Needs Debian's protobuf-compiler (protoc 3.21) and protobuf-compiler-grpc (grpc_python_plugin);
# at run time python3-grpcio and python3-protobuf. (Debian's python3-grpc-tools 1.14 bundles a
# protoc too old for proto3 `optional`, which the protos use.)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
protos=$here/../../protos
out=${1:-$here/gen}
mkdir -p "$out"
plugin=$(command -v grpc_python_plugin) || { echo "generate.sh: grpc_python_plugin not found (apt-get install protobuf-compiler-grpc)" >&2; exit 1; }
protoc -I "$protos" --python_out="$out" --grpc_python_out="$out" --plugin=protoc-gen-grpc_python="$plugin" \
  $(cd "$protos" && find mesh -name '*.proto' | sort)
# protoc writes no package markers; Python 3 reads the folders as namespace packages without them.
