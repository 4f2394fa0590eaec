#!/usr/bin/env python3
"""Reduce a dotnet-trace sample-profiler trace (converted to speedscope JSON) to a Markdown report.

The EventPipe sample profiler (Microsoft-DotNETCore-SampleProfiler) samples every managed thread
about once a millisecond whether it is running or blocked, so a thread's samples measure its wall
time, split here by what it was doing:

  work    running code that is neither a spin nor a wait;
  spin    burning a core while waiting for work (SpinWait, Thread.SpinWait/Yield, the thread pool's
          LowLevelSpinWaiter, the CPU worker team's spin loop);
  lock    waiting for a contended Monitor lock: the runtime spins, then blocks, and a sample
          cannot tell which, so it is reported on its own with the methods that waited;
  parked  blocked in the kernel (Monitor.Wait, semaphores, epoll, sleeps): no CPU used.

Shares in the method tables are of the busy samples (work + spin), so idle threads of a large
pool do not dilute them; lock and parked samples are reported per thread group beside them. With
--cpu-end (and --cpu-start) the report adds each thread's CPU time from /proc, which is what the
threads really ran: the sampler also counts a thread the kernel preempted.

dotnet-trace's speedscope export is "evented": per thread, open/close events of frames, where a
sample's stack stays open until the next sample differs. Its leaves are the pseudo-frames
CPU_TIME (managed code) and UNMANAGED_CODE_TIME (native code: a syscall, a wait, the runtime).
A sample taken at a GC poll (Thread.PollGC) is attributed to the method that polled.

Usage: profile-report.py TRACE.speedscope.json --title T [--window REGEX] [--kind decode|gateway]
       [--top N] [--note TEXT]... [--cpu-start FILE] [--cpu-end FILE] [--cpu-span TEXT]
--window keeps only the time while some thread has a frame matching REGEX on its stack (e.g. the
bench's decode loop), and counts every thread (engine and workers) inside those intervals.
"""
import argparse
import collections
import json
import re
import sys

PSEUDO_LEAVES = {"CPU_TIME", "UNMANAGED_CODE_TIME"}
UNSAMPLED_MS = 250
# Frames a sample lands in because of how it was taken, not because work happens there.
TRANSPARENT = re.compile(r"Thread\.<PollGC>|Thread\.PollGC\b")
# Frames on nearly every stack (entry points, async and task plumbing): left out of the inclusive table.
PLUMBING = re.compile(
    r"System\.CommandLine|AsyncMethodBuilderCore|ExecutionContext\.Run|Thread\.StartCallback|Thread\+StartHelper|"
    r"\.<Main>|Task\.ExecuteWithThreadLocal|Task\.ExecuteEntry|Task\.ExecuteFromThreadPool|ThreadPoolWorkQueue\.Dispatch|"
    r"WorkerThread\.WorkerThreadStart|AsyncStateMachineBox.*\.MoveNext|AsyncStateMachineBox.*ExecuteFromThreadPool|"
    r"ThreadPoolTaskScheduler|TaskScheduler\.TryRunInline|InternalRunSynchronously|Task\.RunSynchronously|"
    r"TaskReplicator|Parallel\.ForWorker|<ForWorker>|IThreadPoolWorkItem\.Execute|ThreadPoolTypedWorkItemQueue")
ROOTS = re.compile(r"^(Threads|\(Non-Activities\)|Process\d+ |Thread \(\d+\))")

SPIN = re.compile(
    r"LowLevelLifoSemaphore\.Wait\(|SpinWait\.SpinOnce|Thread\.SpinWait|Thread\.Yield|LowLevelSpinWaiter|Task\.SpinWait|"
    r"SpinThenBlockingWait|CpuWorkerTeam\.Next\(|CpuWorkerTeam\+Region\.WaitUntilDone")
PARK = re.compile(
    r"Monitor\.Wait|Monitor\.Enter|Monitor\.ReliableEnter|WaitHandle\.|WaitOneNoCheck|LowLevelLifoSemaphore|"
    r"LowLevelMonitor|ManualResetEventSlim\.Wait|SemaphoreSlim\.Wait|Task\.InternalWait|Thread\.Join|"
    r"Thread\.Sleep|WaitForSignal|WaitNative|SocketAsyncEngine\.EventLoop|WaitForSocketEvents|"
    r"PortableThreadPool\+GateThread|TimerQueue\.TimerThread|WaitSubsystem|Interop\+Sys\.Poll|FileSystemWatcher")

# Where decode's work goes, by the leaf-most frame that names a step of the forward pass.
DECODE_CATEGORIES = [
    ("attention", re.compile(r"CpuAttention|Attention")),
    ("activation quantization (int8 rows for the quantized dots)", re.compile(r"EnsureQuantized|QuantizeActivations|Quantize(Row|Rows|Q8)")),
    ("weight matrix x vector (matmul kernels)", re.compile(r"MatMul|QuantDot|FusedQuant|BlockQuants|KQuants|\.BlockRows|\.KRows|\.Rows\(|DotQ|F32Dot")),
    ("RMSNorm", re.compile(r"RmsNorm|RMSNorm")),
    ("RoPE", re.compile(r"Rope|RoPE|Rotary")),
    ("SwiGLU", re.compile(r"SwiGlu|SwiGLU|Silu")),
    ("argmax / sampling", re.compile(r"IndexOfMax|Sampler")),
    ("parallel-for plumbing (claiming chunks, starting regions)", re.compile(r"CpuWorkerTeam|CpuParallel|System\.Threading\.Tasks\.Parallel|TaskReplicator|ThreadPool")),
]

# Which component a gateway-bench sample is in, by module of the leaf-most frame that is not the
# runtime's (System.Private.CoreLib, …); a stack that never leaves the runtime counts as "runtime".
def component(module):
    m = module.lower()
    if m.startswith("mesh.gateway"):
        return "Mesh.Gateway (auth, limits, metering, logging middleware)"
    if m.startswith("yarp"):
        return "YARP (reverse proxy forwarder)"
    if m.startswith("mesh.inference"):
        return "Mesh.Inference (the Tokenize service)"
    if m.startswith("mesh.servicedefaults"):
        return "Mesh.ServiceDefaults (interceptors, telemetry setup)"
    if m.startswith("microsoft.aspnetcore.server.kestrel"):
        return "Kestrel (HTTP/2 server, both hosts)"
    if m.startswith("microsoft.aspnetcore"):
        return "ASP.NET Core (routing, middleware, gRPC service host)"
    if m.startswith("grpc"):
        return "Grpc.Net (client and server)"
    if m.startswith("system.net.http"):
        return "System.Net.Http (HTTP/2 client: forwarder and bench client)"
    if m.startswith("system.net"):
        return "System.Net (sockets)"
    if m.startswith("opentelemetry") or m.startswith("system.diagnostics.diagnosticsource"):
        return "OpenTelemetry / DiagnosticSource (spans, metrics)"
    if m.startswith("microsoft.extensions"):
        return "Microsoft.Extensions (logging, options, DI)"
    if m.startswith("google.protobuf"):
        return "Google.Protobuf (message (de)serialisation)"
    if m.startswith("mesh.gateway.bench"):
        return "bench client loop"
    return None


def split_frame(name):
    module, sep, method = name.partition("!")
    if not sep:
        return "", name
    return module.lower(), method


def short(method, width=110):
    # Drop the parameter lists: the type and method name are what a reader scans for.
    depth, out = 0, []
    for ch in method:
        if ch == "(":
            depth += 1
            if depth == 1:
                out.append("()")
            continue
        if ch == ")":
            depth -= 1
            continue
        if depth == 0:
            out.append(ch)
    text = "".join(out)
    return text if len(text) <= width else text[: width - 1] + "…"


def intervals_of(profile, frames, pattern):
    """Intervals of a thread's time during which a frame matching pattern is on its stack."""
    out, depth, start, stack = [], 0, None, []
    for e in profile["events"]:
        f = e["frame"]
        hit = bool(pattern.search(frames[f]))
        if e["type"] == "O":
            stack.append(f)
            if hit:
                if depth == 0:
                    start = e["at"]
                depth += 1
        else:
            stack.pop()
            if hit:
                depth -= 1
                if depth == 0:
                    out.append((start, e["at"]))
    return out


def clip(t0, t1, windows):
    if windows is None:
        return t1 - t0
    total = 0.0
    for a, b in windows:
        if b <= t0:
            continue
        if a >= t1:
            break
        total += min(b, t1) - max(a, t0)
    return total


# A thread-pool worker whose leaf-most frame is its own dispatch loop is looking for work.
IDLE_LEAF = re.compile(r"PortableThreadPool\+WorkerThread\.WorkerThreadStart|ThreadPoolWorkQueue\.Dispatch\(")
# Leaf frames of a thread blocked inside the runtime: Monitor.Wait and the finalizer's wait are
# entered without a managed-to-native frame, so the sampler labels them CPU_TIME although /proc
# charges those threads almost no CPU.
BLOCKED_LEAF = re.compile(
    r"SemaphoreSlim\.WaitCore|Monitor\.Wait|Monitor\.ObjWait|GC\.RunFinalizers\(|LowLevelLifoSemaphore\.WaitNative|"
    r"WaitOneNoCheck|WaitHandle\.WaitOneCore|Thread\.Join")
# Contended lock: the runtime spins, then blocks, and the sampler cannot tell the two apart.
LOCK_LEAF = re.compile(r"Monitor\.Enter_Slowpath|Monitor\.ReliableEnter|Monitor\.Enter\(")


LOCK_SITES = collections.Counter()  # the method that waited for a contended lock -> ms


def state_of(stack_names, leaf):
    real = [n for n in stack_names if not TRANSPARENT.search(n)]
    if not real:
        return "work"
    top = real[-1]
    native = leaf == "UNMANAGED_CODE_TIME"
    # An unresolved stub's caller says what the stub is for (a P/Invoke into epoll_wait, send, …).
    named_top = real[-2] if split_frame(top)[1] == "?" and len(real) > 1 else top
    near = real[-3:]
    if IDLE_LEAF.search(top):
        return "parked" if native else "spin"
    if native and PARK.search(named_top):
        return "parked"
    if "Thread.Sleep" in top:
        return "spin" if any("SpinOnce" in n for n in near) else "parked"
    if BLOCKED_LEAF.search(top):
        return "parked"
    if any(SPIN.search(n) for n in near):
        return "spin"
    if LOCK_LEAF.search(top):
        return "lock"
    if native and any(PARK.search(n) for n in real):
        return "parked"
    return "work"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--title", required=True)
    ap.add_argument("--window")
    ap.add_argument("--kind", choices=["decode", "gateway"], default="decode")
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--note", action="append", default=[])
    ap.add_argument("--cpu-start", help="per-thread CPU ticks before the window (tid, name, ticks per line)")
    ap.add_argument("--cpu-end", help="per-thread CPU ticks after the window")
    ap.add_argument("--cpu-span", default="", help="what the CPU snapshots cover, for the table's caption")
    args = ap.parse_args()

    data = json.load(open(args.trace))
    frames = [f["name"] for f in data["shared"]["frames"]]
    profiles = data["profiles"]

    windows, engine = None, set()
    if args.window:
        pat = re.compile(args.window)
        found = []
        for p in profiles:
            iv = intervals_of(p, frames, pat)
            if iv:
                engine.add(p["name"])
                found.extend(iv)
        found.sort()
        windows = []
        for a, b in found:
            if windows and a <= windows[-1][1]:
                windows[-1] = (windows[-1][0], max(windows[-1][1], b))
            else:
                windows.append((a, b))
        if not windows:
            sys.exit(f"no frame matching {args.window!r} in {args.trace}")
    wall = sum(b - a for a, b in windows) if windows else (
        max(p["endValue"] for p in profiles) - min(p["startValue"] for p in profiles))

    per_thread = collections.defaultdict(collections.Counter)   # thread -> state -> ms
    exclusive = collections.Counter()                            # (state, method, native) -> ms
    inclusive = collections.Counter()                            # method -> ms (busy only)
    categories = collections.Counter()
    components_excl = collections.Counter()
    components_incl = collections.Counter()

    for p in profiles:
        name = p["name"]
        stack, last = [], None
        for e in p["events"]:
            t = e["at"]
            if last is not None and stack and t > last:
                dt = clip(last, t, windows)
                if dt > 0 and t - last > UNSAMPLED_MS and not parked(stack, frames):
                    # A thread busy with the same stack for this long is one the sampler stopped
                    # sampling (the finalizer thread, in these traces: /proc charges it ~0 CPU), or a
                    # stall of the sampler itself: the exporter stretches the last sample until the next.
                    per_thread[name]["unsampled"] += dt
                elif dt > 0:
                    account(stack, frames, dt, name, per_thread, exclusive, inclusive, categories,
                            components_excl, components_incl, args.kind)
            last = t
            if e["type"] == "O":
                stack.append(e["frame"])
            else:
                stack.pop()

    group = lambda n: ("engine thread" if n in engine else "workers (other threads)") if engine else "all threads"
    groups = collections.defaultdict(collections.Counter)
    for n, c in per_thread.items():
        groups[group(n)].update(c)
    total = collections.Counter()
    for c in per_thread.values():
        total.update(c)
    total["unsampled"] = 0
    busy = total["work"] + total["spin"]

    w = print
    w(f"# {args.title}\n")
    for note in args.note:
        w(f"- {note}")
    w(f"- trace: `{args.trace.split('/')[-1]}`; " + (
        f"window: while a thread has a frame matching `{args.window}` on its stack ({len(windows)} intervals, {wall / 1000:.2f} s)"
        if windows else f"whole trace ({wall / 1000:.2f} s)"))
    w(f"- thread samples in the window: {sum(total.values()):.0f}, of which busy (work + spin) {busy:.0f}; "
      f"busy threads on average {busy / wall:.2f} (the machine has 2 vCPUs)\n")

    w("## Thread samples by state\n")
    w("Sample counts (≈ ms while the sampler keeps its ~1 kHz; it falls behind when the machine is saturated).\n")
    w("| threads | work | spin | lock | parked | work % of busy | spin % of busy |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for g in sorted(groups):
        c = groups[g]
        b = c["work"] + c["spin"]
        w(f"| {g} | {c['work']:.0f} | {c['spin']:.0f} | {c['lock']:.0f} | {c['parked']:.0f} | {pct(c['work'], b)} | {pct(c['spin'], b)} |")
    if len(groups) > 1:
        w(f"| **all** | {total['work']:.0f} | {total['spin']:.0f} | {total['lock']:.0f} | {total['parked']:.0f} | {pct(total['work'], busy)} | {pct(total['spin'], busy)} |")
    w("")
    w("<details><summary>per thread</summary>\n")
    w("| thread | work | spin | lock | parked | left out: one busy stack held > 250 ms (not sampled) |")
    w("|---|---:|---:|---:|---:|---:|")
    for n in sorted(per_thread, key=lambda n: -(per_thread[n]["work"] + per_thread[n]["spin"])):
        c = per_thread[n]
        w(f"| {n}{' (engine)' if n in engine else ''} | {c['work']:.0f} | {c['spin']:.0f} | {c['lock']:.0f} | {c['parked']:.0f} | {c['unsampled']:.0f} |")
    w("\n</details>\n")
    if args.cpu_end:
        cpu_table(args, per_thread, engine, w)

    if args.kind == "decode":
        w("## Busy samples by step of the forward pass\n")
        w("| where | % of busy samples | % of work samples |")
        w("|---|---:|---:|")
        for k, v in categories.most_common():
            w(f"| {k} | {pct(v, busy)} | {pct(v, total['work'])} |")
        w(f"| spin (idle workers and the engine thread waiting for them) | {pct(total['spin'], busy)} | |")
    else:
        w("## Busy samples by component (leaf-most frame outside the runtime's own libraries)\n")
        w("| component | exclusive % of busy | exclusive % of work | inclusive % of work |")
        w("|---|---:|---:|---:|")
        for k, v in components_excl.most_common():
            w(f"| {k} | {pct(v, busy)} | {pct(v, total['work'])} | {pct(components_incl[k], total['work'])} |")
        w(f"| spin (idle thread-pool workers, spinning waits) | {pct(total['spin'], busy)} | |")
    w("")

    if LOCK_SITES:
        w("## Contended locks (where threads waited)\n")
        w("| lock samples | % of all lock samples | waiting in |")
        w("|---:|---:|---|")
        lock_total = sum(LOCK_SITES.values())
        for site, v in LOCK_SITES.most_common(8):
            w(f"| {v:.0f} | {pct(v, lock_total)} | `{site}` |")
        w("")

    w(f"## Top {args.top} methods by exclusive busy samples\n")
    w("| % of busy | state | method |")
    w("|---:|---|---|")
    for (state, method), v in exclusive.most_common(args.top):
        w(f"| {pct(v, busy)} | {state} | `{method}` |")
    w("")
    w(f"## Top {args.top} methods by inclusive busy samples (entry points and task plumbing left out)\n")
    w("| % of busy | method |")
    w("|---:|---|")
    for method, v in inclusive.most_common(args.top):
        w(f"| {pct(v, busy)} | `{method}` |")
    w("")


def read_ticks(path):
    out = {}
    for line in open(path):
        parts = line.rstrip("\n").split("\t")
        if len(parts) == 3:
            out[parts[0]] = (parts[1], int(parts[2]))
    return out


def cpu_table(args, per_thread, engine, w):
    """CPU the kernel charged to each thread (clock ticks of 10 ms), beside what the sampler saw busy."""
    end = read_ticks(args.cpu_end)
    start = read_ticks(args.cpu_start) if args.cpu_start else {}
    used = {tid: (name, (ticks - start.get(tid, (name, 0))[1]) * 10) for tid, (name, ticks) in end.items()}
    process = used.pop("process", None)
    total = sum(ms for _, ms in used.values())
    if process and process[1] > total:
        used["-"] = ("threads gone before the last snapshot", process[1] - total)
        total = process[1]
    busy_by_tid = {}
    for n, c in per_thread.items():
        m = re.match(r"Thread \((\d+)\)", n)
        if m:
            busy_by_tid[m.group(1)] = (n in engine, c["work"] + c["spin"], c["spin"])
    w(f"## CPU time by thread ({args.cpu_span})\n")
    w(f"Total {total / 1000:.1f} CPU s. The sampler counts a runnable thread that the kernel had "
      "preempted as busy; CPU ms is what each thread actually ran.\n")
    w("| thread (kernel name, tid) | CPU ms | % of process CPU | busy samples in the window | of which spin |")
    w("|---|---:|---:|---:|---:|")
    rows = sorted(used.items(), key=lambda kv: -kv[1][1])
    shown = 0
    for tid, (name, ms) in rows:
        if ms <= 0 or shown >= 15:
            continue
        shown += 1
        eng, b, sp = busy_by_tid.get(tid, (False, None, None))
        w(f"| {name}{' (engine)' if eng else ''}, {tid} | {ms} | {pct(ms, total)} | "
          f"{'' if b is None else f'{b:.0f}'} | {'' if sp is None else f'{sp:.0f}'} |")
    rest = sum(ms for _, (_, ms) in rows[shown:] if ms > 0)
    if rest:
        w(f"| other threads | {rest} | {pct(rest, total)} | | |")
    w("")


def parked(stack, frames):
    names = [frames[f] for f in stack]
    leaf = names[-1] if names[-1] in PSEUDO_LEAVES else "CPU_TIME"
    body = [n for n in names if n not in PSEUDO_LEAVES and not ROOTS.match(n)]
    return state_of(body, leaf) == "parked"


def pct(v, of):
    return f"{100 * v / of:.1f}%" if of else "n/a"


def account(stack, frames, dt, thread, per_thread, exclusive, inclusive, categories, comp_excl, comp_incl, kind):
    names = [frames[f] for f in stack]
    leaf = names[-1] if names[-1] in PSEUDO_LEAVES else "CPU_TIME"
    body = [n for n in names if n not in PSEUDO_LEAVES and not ROOTS.match(n)]
    state = state_of(body, leaf)
    per_thread[thread][state] += dt
    if state in ("parked", "lock"):
        if state == "lock":
            real = [n for n in body if not TRANSPARENT.search(n) and not LOCK_LEAF.search(n)]
            LOCK_SITES[short(split_frame(real[-1])[1]) if real else "?"] += dt
        return
    real = [n for n in body if not TRANSPARENT.search(n)] or body or ["(no managed frame)"]
    top_module, top_method = split_frame(real[-1])
    label = short(top_method)
    if top_method == "?" and len(real) > 1:
        # An unresolved frame is a stub (P/Invoke marshalling, a delegate thunk): name its caller.
        label = "? (stub) in " + short(split_frame(real[-2])[1]) + (" [native]" if leaf == "UNMANAGED_CODE_TIME" else "")
    exclusive[(state, label)] += dt
    seen = set()
    for n in real:
        m = short(split_frame(n)[1])
        if m not in seen and not PLUMBING.search(n):
            seen.add(m)
            inclusive[m] += dt
    if state != "work":
        return
    if kind == "decode":
        for n in reversed(real):
            for cat, pat in DECODE_CATEGORIES:
                if pat.search(split_frame(n)[1]):
                    categories[cat] += dt
                    return
        categories["other"] += dt
    else:
        comp = None
        seen_comp = set()
        for n in reversed(real):
            c = component(split_frame(n)[0])
            if c and comp is None:
                comp = c
            if c:
                seen_comp.add(c)
        comp_excl[comp or "runtime only (thread pool, async machinery, GC polls)"] += dt
        for c in seen_comp:
            comp_incl[c] += dt


if __name__ == "__main__":
    main()
