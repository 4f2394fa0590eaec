#!/usr/bin/env bash
# The test command of the README: installs what the tests need (kustomize for the k8s/ tests,
# Debian's gRPC Python and protoc and clients/node's packages for the client tests, Debian's
# chromium for the eval report's rendering test, Debian's python3-torch for the PyTorch gradient oracle),
# assembles every PTX kernel with ptxas, then runs every test project of Mesh.sln. Ends with one
# line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -x scripts/ptxas-check.sh ]]; then
  scripts/ptxas-check.sh
fi

scripts/install-kustomize.sh
scripts/install-client-tools.sh
scripts/install-chromium.sh
scripts/install-torch.sh

dotnet build Mesh.sln -c Release --nologo -clp:ErrorsOnly
log=$(mktemp)
status=0
dotnet test Mesh.sln -c Release --no-build --nologo 2>&1 | tee "$log" || status=$?
# Sum the per-assembly summaries ("Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12").
awk '/(Passed|Failed)! +- +Failed:/ {
       gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit $status
