#!/usr/bin/env bash
# Issue 15's profiles "before and after": single-stream decode (synthetic 110M Q4_0 and F32) and a
# unary call through the gateway, traced with dotnet-trace's sample profiler in two checkouts and
# reduced by scripts/profile-report.py to Markdown reports (README, "Profiles: where the time went").
#
#   before  the parent of the first issue-15 commit (04ca360 by default: e4c25f7, the Guard input
#           stage, is the first; the CPU worker team, fused/VNNI kernels and the gateway's span and
#           GC settings all came after it)
#   after   this checkout
#
# Per checkout:
#   decode   dotnet-trace collect -- dotnet Mesh.Inference.Bench.dll single --only "110M <type>"
#            --prompt-tokens 1 --decode-tokens N; the report keeps only the time while the engine
#            thread is inside MeshSubject.Run (the one-token prompt is a decode step too, so model
#            loading is the only thing left out) and counts every other thread inside those intervals
#   gateway  Mesh.Gateway.Bench S 8 1 (8 concurrent unary Tokenize callers; client, gateway and
#            Inference in one process), traced by attaching for the middle of its gateway round only
#            (the round starts 2 + S seconds after the header line; the direct round before it is
#            left out), then stopped once the unary row is printed
#
# Usage: scripts/profile.sh [BEFORE_COMMIT]
# Environment:
#   PROFILE_BEFORE   checkout of the before commit (default: a detached worktree beside this one,
#                    <this>-profile-before, created if missing, so ../shared is the same folder)
#   PROFILE_TRACES   where .nettrace and speedscope files go (default .cache/profiles: large, not committed)
#   PROFILE_OUT      where the reports go (default docs/profiles)
#   PROFILE_ONLY     decode | gateway (default both)
#   PROFILE_DECODE   the decode runs as TYPE:TOKENS (default "Q4_0:512 F32:256")
#   PROFILE_GATEWAY_S seconds per gateway-bench round (default 30; the trace covers S - 10 of them)
#   PROFILE_REPORT_ONLY=1  only rebuild the reports from the traces already in PROFILE_TRACES
# Needs: dotnet-trace 10.0.750501 (installed as a global tool if missing), python3, the synthetic
# bench models in .cache/bench-models (the Inference bench writes them on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
after=$(pwd)
before_commit=${1:-04ca360}
before=${PROFILE_BEFORE:-$(dirname "$after")/$(basename "$after")-profile-before}
traces=${PROFILE_TRACES:-$after/.cache/profiles}
out=${PROFILE_OUT:-$after/docs/profiles}
only=${PROFILE_ONLY:-}
gateway_s=${PROFILE_GATEWAY_S:-30}
export PATH="$PATH:$HOME/.dotnet/tools"
mkdir -p "$traces" "$out"

if ! dotnet-trace --version >/dev/null 2>&1; then
    dotnet tool install --global dotnet-trace --version 10.0.750501
fi

# A report's arguments are kept beside its trace, so PROFILE_REPORT_ONLY=1 can rebuild every report
# from the traces already taken (after a change to profile-report.py) without tracing again.
save_args() { # name, args...
    local name=$1
    shift
    printf '%s\n' "$@" > "$traces/$name.args"
}

report() { # name
    local args=()
    mapfile -t args < "$traces/$1.args"
    python3 scripts/profile-report.py "$traces/$1.speedscope.json" "${args[@]}" > "$out/$1.md"
    echo "$out/$1.md"
}

if [ -n "${PROFILE_REPORT_ONLY:-}" ]; then
    for f in "$traces"/*.args; do
        report "$(basename "$f" .args)"
    done
    exit 0
fi

if [ ! -d "$before" ]; then
    git worktree add --detach "$before" "$before_commit"
fi

# Sample profiler at ~1 kHz on every managed thread, plus the runtime's method events so frames
# resolve (the keywords dotnet-trace's former default cpu-sampling profile enabled).
providers='Microsoft-DotNETCore-SampleProfiler,Microsoft-Windows-DotNETRuntime:0x4c14fccbd:4'

# CPU time the kernel charged to each thread of a process so far: "tid<TAB>name<TAB>clock ticks" lines.
# The sample profiler sees thread time (a preempted thread is sampled where it stopped); this is
# what the threads really ran, for the report's per-thread CPU column.
cpu_snapshot() { # pid
    local pid=$1 stat rest
    for stat in /proc/"$pid"/task/*/stat; do
        read -r rest < "$stat" 2>/dev/null || continue
        local tid=${rest%% *} name=${rest#*(}
        name=${name%)*}
        # shellcheck disable=SC2086
        set -- ${rest##*) }
        printf '%s\t%s\t%s\n' "$tid" "$name" "$(( ${12} + ${13} ))"
    done
    # The process's own counters also hold the threads that have already exited.
    read -r rest < "/proc/$pid/stat" 2>/dev/null || return 0
    # shellcheck disable=SC2086
    set -- ${rest##*) }
    printf 'process\tprocess total\t%s\n' "$(( ${12} + ${13} ))"
}

# Appends a snapshot of the traced child's threads (the child of dotnet-trace) every half second
# until it exits; the report keeps each thread's last value, so a worker that exits before the
# process does (a disposed backend) still counts.
watch_child_cpu() { # dotnet-trace pid, output file
    local child=""
    while kill -0 "$1" 2>/dev/null; do
        [ -z "$child" ] && child=$(pgrep -P "$1" dotnet | head -1 || true)
        if [ -n "$child" ] && [ -d "/proc/$child" ]; then
            cpu_snapshot "$child" >> "$2"
        fi
        sleep 0.5
    done
}

prepare() { # tree
    mkdir -p "$1/.cache"
    if [ "$1" != "$after" ] && [ ! -e "$1/.cache/bench-models" ]; then
        ln -s "$after/.cache/bench-models" "$1/.cache/bench-models"
    fi
    (cd "$1" && dotnet build bench/Mesh.Inference.Bench -c Release -m:1 -v q -nologo >/dev/null \
        && dotnet build bench/Mesh.Gateway.Bench -c Release -m:1 -v q -nologo >/dev/null)
}

decode() { # label tree type tokens
    local label=$1 tree=$2 type=$3 tokens=$4 name="$1-decode-$3"
    local load0 load1
    load0=$(cat /proc/loadavg)
    (cd "$tree" && exec dotnet-trace collect --providers "$providers" --format Speedscope --show-child-io \
        -o "$traces/$name.nettrace" -- dotnet bench/Mesh.Inference.Bench/bin/Release/net10.0/Mesh.Inference.Bench.dll \
        single --only "110M $type" --prompt-tokens 1 --decode-tokens "$tokens") > "$traces/$name.log" 2>&1 &
    local tracer=$!
    rm -f "$traces/$name.cpu"
    watch_child_cpu "$tracer" "$traces/$name.cpu" &
    local watcher=$!
    wait "$tracer"
    wait "$watcher"
    load1=$(cat /proc/loadavg)
    save_args "$name" --kind decode --window 'MeshSubject\.Run\(' \
        --title "Decode, synthetic 110M $type, $label ($(git -C "$tree" rev-parse --short HEAD))" \
        --note "command: \`dotnet-trace collect --providers $providers -- dotnet Mesh.Inference.Bench.dll single --only \"110M $type\" --prompt-tokens 1 --decode-tokens $tokens\` (warm-up + 3 runs, 2 threads)" \
        --note "bench under the trace (prefill tok/s, decode tok/s): $(grep -E '^\| synthetic' "$traces/$name.log" | head -1)" \
        --note "load average at start: $load0; at end: $load1" \
        --cpu-end "$traces/$name.cpu" --cpu-span "the whole process (model load included), from /proc/PID/task/*/stat"
    report "$name"
}

gateway() { # label tree
    local label=$1 tree=$2 name="$1-gateway-unary"
    local log="$traces/$name.log" pid load0 load1
    load0=$(cat /proc/loadavg)
    (cd "$tree" && exec dotnet bench/Mesh.Gateway.Bench/bin/Release/net10.0/Mesh.Gateway.Bench.dll "$gateway_s" 8 1) > "$log" 2>&1 &
    pid=$!
    for _ in $(seq 300); do grep -q '^Mesh gateway benchmark' "$log" && break; sleep 0.2; done
    # Warm-ups (1 s direct, 1 s gateway), then the direct round, then the gateway round: trace its middle.
    sleep $((2 + gateway_s + 4))
    cpu_snapshot "$pid" > "$traces/$name.cpu0"
    dotnet-trace collect -p "$pid" --providers "$providers" --format Speedscope \
        --duration "00:00:00:$((gateway_s - 10))" -o "$traces/$name.nettrace" > "$traces/$name.trace.log" 2>&1
    cpu_snapshot "$pid" > "$traces/$name.cpu"
    for _ in $(seq 600); do grep -q '^| unary Tokenize | 8 ' "$log" && break; sleep 0.2; done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    load1=$(cat /proc/loadavg)
    save_args "$name" --kind gateway \
        --title "Gateway, unary Tokenize at 8 concurrent callers, $label ($(git -C "$tree" rev-parse --short HEAD))" \
        --note "command: \`dotnet Mesh.Gateway.Bench.dll $gateway_s 8 1\`, traced with \`dotnet-trace collect -p PID --providers $providers --duration $((gateway_s - 10)) s\` from 4 s into its gateway round (client, gateway and Inference share the process)" \
        --note "bench row of this run (the gateway round partly traced): $(grep -E '^\| unary Tokenize' "$log" | head -1)" \
        --note "load average at start: $load0; at end: $load1" \
        --cpu-start "$traces/$name.cpu0" --cpu-end "$traces/$name.cpu" --cpu-span "the traced window (attach and rundown included), from /proc/PID/task/*/stat"
    report "$name"
}

prepare "$before"
prepare "$after"
# Each experiment runs before, then after, straight away, so both meet about the same machine load.
if [ "$only" != gateway ]; then
    for type_tokens in ${PROFILE_DECODE:-Q4_0:512 F32:256}; do
        decode before "$before" "${type_tokens%%:*}" "${type_tokens##*:}"
        decode after "$after" "${type_tokens%%:*}" "${type_tokens##*:}"
    done
fi
if [ "$only" != decode ]; then
    gateway before "$before"
    gateway after "$after"
fi
