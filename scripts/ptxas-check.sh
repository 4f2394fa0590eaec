#!/usr/bin/env bash
# Assembles every hand-written PTX kernel under src/Kernels with ptxas for every target it declares
# and fails on any error, any warning (spills and local-memory use are warnings made errors), or
# any kernel whose report shows spill stores/loads. Prints one row per kernel and target.
#
# A .ptx file declares its targets in a header line:   // mesh-targets: sm_80 sm_90
# (sm_90a for wgmma/TMA kernels). ptxas itself comes from scripts/install-ptxas.sh (cached in .tools/).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-ptxas.sh
ptxas=$PWD/.tools/ptxas/bin/ptxas

mapfile -t files < <(find src/Kernels -name '*.ptx' -not -path '*/bin/*' -not -path '*/obj/*' | sort)
if (( ${#files[@]} == 0 )); then
  echo "ptxas-check: no .ptx files under src/Kernels" >&2
  exit 1
fi

failures=0
rows=()
for file in "${files[@]}"; do
  targets=$(sed -n 's|^// *mesh-targets: *||p' "$file" | head -n1)
  if [[ -z $targets ]]; then
    echo "ptxas-check: $file has no '// mesh-targets: ...' header line" >&2
    failures=$((failures + 1))
    continue
  fi
  for target in $targets; do
    log=$("$ptxas" -arch="$target" -v --warn-on-spills --warn-on-local-memory-usage --warning-as-error \
          -o /dev/null "$file" 2>&1) || {
      echo "ptxas-check: FAILED $file for $target:" >&2
      echo "$log" >&2
      failures=$((failures + 1))
      continue
    }
    # ptxas -v prints, per entry: "Compiling entry function 'name' for 'sm_xx'", then
    # "N bytes stack frame, N bytes spill stores, N bytes spill loads", then "Used N registers, ...".
    while IFS=$'\t' read -r name regs smem stack spill_st spill_ld; do
      rows+=("$(basename "$file" .ptx)/$name"$'\t'"$target"$'\t'"$regs"$'\t'"$smem"$'\t'"$stack"$'\t'"$((spill_st + spill_ld))")
      if (( spill_st + spill_ld > 0 || stack > 0 )); then
        echo "ptxas-check: $file:$name on $target spills ($spill_st B stores, $spill_ld B loads, $stack B stack)" >&2
        failures=$((failures + 1))
      fi
    done < <(awk '
      /Compiling entry function/ { if (name != "") flush(); match($0, /'"'"'[^'"'"']+'"'"'/); name = substr($0, RSTART + 1, RLENGTH - 2); regs = 0; smem = 0; stack = 0; st = 0; ld = 0 }
      /bytes stack frame/ { for (i = 1; i <= NF; i++) { if ($(i+1) == "bytes" && $(i+2) == "stack") stack = $i; if ($(i+2) == "spill" && $(i+3) ~ /^stores/) st = $i; if ($(i+2) == "spill" && $(i+3) ~ /^loads/) ld = $i } }
      /Used [0-9]+ registers/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^registers/) regs = $i; if ($(i+1) == "bytes" && $(i+2) ~ /^smem/) smem = $i } }
      function flush() { printf "%s\t%d\t%d\t%d\t%d\t%d\n", name, regs, smem, stack, st, ld }
      END { if (name != "") flush() }' <<<"$log")
  done
done

printf '%-52s %-7s %9s %11s %7s\n' "kernel" "target" "registers" "shared (B)" "spills"
for row in "${rows[@]}"; do
  IFS=$'\t' read -r kernel target regs smem stack spills <<<"$row"
  printf '%-52s %-7s %9d %11d %7d\n' "$kernel" "$target" "$regs" "$smem" "$spills"
done
if (( failures > 0 )); then
  echo "ptxas-check: $failures failure(s)" >&2
  exit 1
fi
echo "ptxas-check: ${#rows[@]} kernel/target pairs assembled, no spills"
