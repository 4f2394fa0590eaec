#!/usr/bin/env bash
# Installs headless Chromium for the eval report's rendering test
# (tests/Mesh.Gateway.Tests/Assistant/EvalReportTests: the HTML report is screenshotted and its DOM
# dumped): Debian's `chromium` from the machine's own apt sources, without recommends. Skipped when
# chromium or chromium-browser is already on PATH.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
echo "install-chromium: apt-get install chromium" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "install-chromium: $(chromium --version 2>/dev/null | tail -n1)" >&2
