#!/usr/bin/env bash
# The GPU check: every PTX kernel against its CPU reference, the CUDA backend against the CPU
# backend, kernel timings against PyTorch on the same machine, and end-to-end decode tokens/s.
#
#   scripts/gpu-check.sh prepare     on a machine with the .NET SDK: publishes the self-contained
#                                    runner (tools/Mesh.GpuCheck) to .tools/gpucheck.tar.gz, since the
#                                    GPU machine has no .NET SDK.
#   scripts/gpu-check.sh run [DIR]   on the GPU machine (python3; torch for the PyTorch columns): runs the runner
#                                    (`dotnet run` when an SDK is there, else the prepared archive),
#                                    then tools/Mesh.GpuCheck/torch_baseline.py; writes
#                                    gpu-check.json and gpu-check-YYYY-MM-DD.md to DIR
#                                    (default: $OUT when set, else artifacts/gpu-check).
#
# With the device tool: prepare here, then run "scripts/gpu-check.sh run" carrying .tools/gpucheck.tar.gz,
# and commit the returned gpu-check-*.md under src/Kernels/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-run}

case $mode in
  prepare)
    rm -rf .tools/gpucheck && mkdir -p .tools
    dotnet publish tools/Mesh.GpuCheck -c Release -r linux-x64 --self-contained -o .tools/gpucheck --nologo -clp:ErrorsOnly
    # llama.cpp (the decode peer and the Q4_K_M quantizer) ships four CPU builds; the GPU machines'
    # CPUs have AVX2 (and mostly AVX-512), and the no-AVX/AVX builds would push the archive past
    # what the device tool carries.
    rm -rf .tools/gpucheck/runtimes/linux-x64/native/noavx .tools/gpucheck/runtimes/linux-x64/native/avx
    tar -C .tools/gpucheck -cf - . | gzip -9 > .tools/gpucheck.tar.gz
    # The device tool carries 64 MiB in all, the working tree included (about 7 MiB).
    size=$(stat -c %s .tools/gpucheck.tar.gz)
    if (( size > 56 * 1024 * 1024 )); then
      echo "gpu-check: .tools/gpucheck.tar.gz is $((size >> 20)) MiB; the device tool carries 64 MiB with the working tree" >&2
      exit 1
    fi
    echo "gpu-check: prepared .tools/gpucheck.tar.gz ($(du -h .tools/gpucheck.tar.gz | cut -f1))"
    ;;
  run)
    out=${2:-${OUT:-artifacts/gpu-check}}
    mkdir -p "$out"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv || true
    status=0
    if command -v dotnet >/dev/null 2>&1; then
      dotnet run -c Release --project tools/Mesh.GpuCheck -- "$out/gpu-check.json" || status=$?
    elif [[ -f .tools/gpucheck.tar.gz ]]; then
      runner=$(mktemp -d)
      tar -C "$runner" -xzf .tools/gpucheck.tar.gz
      "$runner/Mesh.GpuCheck" "$out/gpu-check.json" || status=$?
    else
      echo "gpu-check: no .NET SDK here and no .tools/gpucheck.tar.gz; run 'scripts/gpu-check.sh prepare' first and carry it" >&2
      exit 2
    fi
    if [[ -f $out/gpu-check.json ]]; then
      PYTHONUNBUFFERED=1 python3 tools/Mesh.GpuCheck/torch_baseline.py "$out/gpu-check.json" "$out/gpu-check-$(date -u +%F).md" || status=$?
    fi
    exit $status
    ;;
  *)
    echo "usage: scripts/gpu-check.sh prepare | run [DIR]" >&2
    exit 2
    ;;
esac
