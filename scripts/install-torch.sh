#!/usr/bin/env bash
# Installs what the PyTorch gradient oracle (tests/Mesh.Inference.Tests/Training/TorchOracleTests)
# needs: Debian's python3-torch (1.13.1 on bookworm, for /usr/bin/python3) from the machine's own apt
# sources. Skipped when it is already there.
set -euo pipefail

if ! dpkg -s python3-torch >/dev/null 2>&1; then
  echo "install-torch: apt-get install python3-torch" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
fi
