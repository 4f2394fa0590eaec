#!/usr/bin/env bash
# Bounded soak (not in CI): the whole mesh up on its own ports and state folder, then a fixed rate of
# mixed Generate / Search / Check calls through the gateway for SOAK_SECONDS (600), sampling every
# service's RSS every SOAK_SAMPLE_S (15) seconds; then the mesh down. Prints the load report (ghz's
# numbers) and the RSS of each service at start (after a 30 s warm-up), end and peak, and exits 1 when
#   - any call ended other than OK (every status is an unexpected error here: the key has no limits
#     the rate reaches),
#   - p99 exceeds SOAK_P99_MS (2000: a 16-token stories260K Generate, a demo Search, a Guard check),
#   - a service's RSS grew by more than SOAK_RSS_GROWTH_PCT (20) percent from start to end.
# Environment: SOAK_RATE calls/s (5), SOAK_SECONDS, SOAK_SAMPLE_S, SOAK_P99_MS, SOAK_RSS_GROWTH_PCT;
# the mesh's ports default to 18080.. so a developer's own `scripts/mesh.sh up` is not disturbed.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${SOAK_RATE:-5}
seconds=${SOAK_SECONDS:-600}
sample=${SOAK_SAMPLE_S:-15}
p99_budget=${SOAK_P99_MS:-2000}
growth_pct=${SOAK_RSS_GROWTH_PCT:-20}
export MESH_STATE=${MESH_STATE:-$PWD/.mesh-soak}
export MESH_GATEWAY_GRPC_PORT=${MESH_GATEWAY_GRPC_PORT:-18080} MESH_GATEWAY_HTTP_PORT=${MESH_GATEWAY_HTTP_PORT:-18081}
export MESH_INFERENCE_PORT=${MESH_INFERENCE_PORT:-18051} MESH_RETRIEVAL_PORT=${MESH_RETRIEVAL_PORT:-18052} MESH_GUARD_PORT=${MESH_GUARD_PORT:-18053}
export MESH_INFERENCE_HTTP_PORT=${MESH_INFERENCE_HTTP_PORT:-18061} MESH_RETRIEVAL_HTTP_PORT=${MESH_RETRIEVAL_HTTP_PORT:-18062} MESH_GUARD_HTTP_PORT=${MESH_GUARD_HTTP_PORT:-18063}

scripts/mesh.sh up
trap 'scripts/mesh.sh down >/dev/null' EXIT
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$(cat "$MESH_STATE/pids/$1.pid")/status"; }
services=(gateway inference retrieval guard)
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
  for s in "${services[@]}"; do line+=$'\t'$(rss_kib "$s"); done
  echo "$line" >>"$samples"
  sleep "$sample"
done
wait "$load" || true

echo "load: $rate calls/s for $seconds s, generate/search/check in turn"
cat "$report"
status=0
python3 - "$report" "$samples" "$p99_budget" "$growth_pct" "${services[@]}" <<'PY' || status=1
import json, sys
report, samples, budget, growth, services = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5:]
r = json.load(open(report))
rows = [list(map(int, l.split("\t"))) for l in open(samples) if l.strip()]
warm = [row for row in rows if row[0] >= 30] or rows
bad = []
print(f"| service | RSS start MiB | RSS end MiB | RSS peak MiB | growth |")
print(f"|---|---:|---:|---:|---:|")
for i, s in enumerate(services, start=1):
    first, last, peak = warm[0][i] / 1024, warm[-1][i] / 1024, max(row[i] for row in warm) / 1024
    g = 100 * (last - first) / first
    print(f"| {s} | {first:.0f} | {last:.0f} | {peak:.0f} | {g:+.1f}% |")
    if g > growth:
        bad.append(f"{s} RSS grew {g:.1f}% (> {growth}%)")
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
