#!/usr/bin/env bash
# Bounded soak (not in CI): the whole mesh up on its own ports and state folder, then a fixed rate of
# mixed Generate / Search / Check calls through the gateway for SOAK_SECONDS (600), sampling every
# service's RSS and managed heap (the GC's heap size after its last collection, all generations, from
# the service's own /metrics) every SOAK_SAMPLE_S (10) seconds; then the mesh down. Prints the load
# report (ghz's numbers) and, per service, memory as a slope: the mean of the first third of the
# samples after a SOAK_WARMUP_S (90) s warm-up against the mean of the last third (growth in percent
# and MiB/min),
# with a verdict flat / NOT FLAT. It exits 1 when
#   - any call ended other than OK (every status is an unexpected error here: the key has no limits
#     the rate reaches),
#   - p99 exceeds SOAK_P99_MS (2000: a 16-token stories260K Generate, a demo Search, a Guard check),
#   - a service's RSS is not flat: its last third is more than SOAK_FLAT_PCT (5) percent above its first.
# The managed heap after each GC, the allocation rate and the number of GCs in the window are reported
# next to RSS so a rise can be told apart: live objects grow the heap after GC; RSS rising while no
# GC ran (or the heap after GC stays level) is garbage not yet collected and memory the GC keeps
# committed, which stops at the GC's budget.
# The warm-up is 90 s because that is where every service's RSS stepped up in the 2026-12-01 runs: the
# first gen0 collections at the steady budget and the tier-up of the hot paths end at 40-100 s; a
# sample inside that ramp would count start-up as growth (README, "Load testing").
# Environment: SOAK_RATE calls/s (5), SOAK_SECONDS, SOAK_SAMPLE_S, SOAK_WARMUP_S, SOAK_P99_MS, SOAK_FLAT_PCT; what
# else the services read (e.g. DOTNET_gcServer=0 to compare workstation GC) passes through;
# the mesh's ports default to 18080.. so a developer's own `scripts/mesh.sh up` is not disturbed.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${SOAK_RATE:-5}
seconds=${SOAK_SECONDS:-600}
sample=${SOAK_SAMPLE_S:-10}
warmup=${SOAK_WARMUP_S:-90}
p99_budget=${SOAK_P99_MS:-2000}
flat_pct=${SOAK_FLAT_PCT:-5}
export MESH_STATE=${MESH_STATE:-$PWD/.mesh-soak}
export MESH_GATEWAY_GRPC_PORT=${MESH_GATEWAY_GRPC_PORT:-18080} MESH_GATEWAY_HTTP_PORT=${MESH_GATEWAY_HTTP_PORT:-18081}
export MESH_INFERENCE_PORT=${MESH_INFERENCE_PORT:-18051} MESH_RETRIEVAL_PORT=${MESH_RETRIEVAL_PORT:-18052} MESH_GUARD_PORT=${MESH_GUARD_PORT:-18053}
export MESH_INFERENCE_HTTP_PORT=${MESH_INFERENCE_HTTP_PORT:-18061} MESH_RETRIEVAL_HTTP_PORT=${MESH_RETRIEVAL_HTTP_PORT:-18062} MESH_GUARD_HTTP_PORT=${MESH_GUARD_HTTP_PORT:-18063}

scripts/mesh.sh up
trap 'scripts/mesh.sh down >/dev/null' EXIT
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$(cat "$MESH_STATE/pids/$1.pid")/status"; }
# From the service's own /metrics (System.Runtime meter): KiB of managed heap after the last GC summed
# over generations, KiB allocated since start, and the number of GCs since start (all generations).
gc_stats() {
  curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | awk '
    { v = $0; sub(/^[^}]*}/, "", v); split(v, f, " ") }
    /^dotnet_gc_last_collection_heap_size_bytes[{ ]/ { heap += f[1] }
    /^dotnet_gc_heap_total_allocated_bytes_total[{ ]/ { alloc += f[1] }
    /^dotnet_gc_collections_total[{ ]/ { gcs += f[1] }
    END { printf "%d\t%d\t%d\n", heap / 1024, alloc / 1024, gcs }'
}
services=(gateway inference retrieval guard)
http_ports=("$MESH_GATEWAY_HTTP_PORT" "$MESH_INFERENCE_HTTP_PORT" "$MESH_RETRIEVAL_HTTP_PORT" "$MESH_GUARD_HTTP_PORT")
samples=$MESH_STATE/rss.tsv
: >"$samples"

report=$MESH_STATE/soak-report.json
dotnet tools/Mesh.Demo/bin/Release/net10.0/Mesh.Demo.dll loadtest --gateway "http://127.0.0.1:$MESH_GATEWAY_GRPC_PORT" \
  --api-key "$(cat "$MESH_STATE/dev-key")" --call generate,search,check --rate "$rate" --seconds "$seconds" --json >"$report" || true &
load=$!
start=$(date +%s)
while kill -0 "$load" 2>/dev/null; do
  t=$(($(date +%s) - start))
  line="$t"
  for i in "${!services[@]}"; do line+=$'\t'$(rss_kib "${services[$i]}")$'\t'$(gc_stats "${http_ports[$i]}"); done
  echo "$line" >>"$samples"
  sleep "$sample"
done
wait "$load" || true

echo "load: $rate calls/s for $seconds s, generate/search/check in turn"
cat "$report"
status=0
python3 - "$report" "$samples" "$p99_budget" "$flat_pct" "$warmup" "${services[@]}" <<'PY' || status=1
import json, sys
report, samples, budget, flat, warmup, services = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6:]
r = json.load(open(report))
rows = [list(map(int, l.split("\t"))) for l in open(samples) if l.strip()]
warm = [row for row in rows if row[0] >= warmup] or rows
third = max(1, len(warm) // 3)
first, last = warm[:third], warm[-third:]
minutes = max((sum(r[0] for r in last) / len(last) - sum(r[0] for r in first) / len(first)) / 60, 1e-9)
def slope(col):
    a = sum(r[col] for r in first) / len(first) / 1024
    b = sum(r[col] for r in last) / len(last) / 1024
    return a, b, 100 * (b - a) / a if a else 0.0, (b - a) / minutes
bad = []
print(f"memory over {len(warm)} samples after a {warmup:.0f} s warm-up: mean of the first third vs the last third")
print("| service | RSS first MiB | RSS last MiB | RSS growth | RSS MiB/min | heap after GC first MiB | last MiB | allocated MiB/min | GCs in window | verdict |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for i, s in enumerate(services):
    ra, rb, rg, rs = slope(1 + 4 * i)
    ha, hb, hg, _ = slope(2 + 4 * i)
    allocated = (warm[-1][3 + 4 * i] - warm[0][3 + 4 * i]) / 1024 / max((warm[-1][0] - warm[0][0]) / 60, 1e-9)
    gcs = warm[-1][4 + 4 * i] - warm[0][4 + 4 * i]
    verdict = "flat" if rg <= flat else "NOT FLAT"
    print(f"| {s} | {ra:.0f} | {rb:.0f} | {rg:+.1f}% | {rs:+.2f} | {ha:.1f} | {hb:.1f} | {allocated:.1f} | {gcs} | {verdict} |")
    if rg > flat:
        bad.append(f"{s} RSS not flat: last third {rg:+.1f}% over the first (> {flat}%)")
errors = {k: v for k, v in r["statuses"].items() if k != "OK"}
if errors:
    bad.append(f"unexpected statuses {errors}")
if r["latency_ms"]["p99"] > budget:
    bad.append(f"p99 {r['latency_ms']['p99']:.0f} ms > {budget:.0f} ms")
print(f"calls {r['count']}, {r['rps']:.2f}/s, p50 {r['latency_ms']['p50']:.1f} ms, p99 {r['latency_ms']['p99']:.1f} ms, statuses {r['statuses']}")
print("SOAK FAILED: " + "; ".join(bad) if bad else "soak passed")
sys.exit(1 if bad else 0)
PY
exit $status
