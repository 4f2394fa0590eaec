using System.Collections.Concurrent;
using System.Diagnostics;
using Grpc.Core;

namespace Mesh.Demo.LoadTest;

/// <summary>One finished call: when it was due, how long it took from then, and its gRPC status.</summary>
/// <param name="Due">When the schedule wanted the call started, from the run's start.</param>
/// <param name="Latency">From <paramref name="Due"/> to the call's end (last message of a stream included).</param>
/// <param name="Status">The call's gRPC status; DEADLINE_EXCEEDED when the client's deadline fired.</param>
/// <param name="Kind">Which call of the mix it was (generate, search, check).</param>
public sealed record CallResult(TimeSpan Due, TimeSpan Latency, StatusCode Status, string Kind);

/// <summary>
/// Drives calls at a fixed rate (open loop) or a fixed concurrency (closed loop) for a fixed time,
/// and records every call's status and latency, as ghz does.
/// </summary>
/// <remarks>
/// Open loop: call <c>i</c> is due at <c>i / rate</c> seconds and is started then whether or not
/// earlier calls have finished, and its latency is measured from when it was due, not from when it
/// happened to start. A closed-loop tester that waits for answers before sending more sends less
/// when the server slows and so hides the stall from its percentiles ("coordinated omission",
/// Gil Tene, "How NOT to Measure Latency"; wrk2 measures the same way). Closed loop (a number of
/// workers each calling back to back) measures capacity instead, and is what ghz's
/// <c>--concurrency</c> without <c>--rps</c> does.
/// </remarks>
public static class LoadRunner
{
    /// <summary>
    /// Runs <paramref name="call"/> at <paramref name="rate"/> calls per second for
    /// <paramref name="duration"/>: exactly <c>floor(rate × seconds)</c> calls. At most
    /// <paramref name="maxInFlight"/> are open at once; a call due while that many are open waits
    /// (and its wait counts in its latency).
    /// </summary>
    public static async Task<IReadOnlyList<CallResult>> OpenLoopAsync(
        Func<int, CancellationToken, Task<(StatusCode Status, string Kind)>> call, double rate, TimeSpan duration,
        int maxInFlight = 1000, CancellationToken cancel = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rate);
        var count = (int)Math.Floor(rate * duration.TotalSeconds);
        var results = new ConcurrentBag<CallResult>();
        using var slots = new SemaphoreSlim(maxInFlight);
        var clock = Stopwatch.StartNew();
        var running = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds(i / rate);
            // A timer may fire a little before the stopwatch says the time has come: wait again
            // until it has, so no call starts early (a negative latency).
            for (var wait = due - clock.Elapsed; wait > TimeSpan.Zero; wait = due - clock.Elapsed)
            {
                await Task.Delay(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, cancel);
            }

            await slots.WaitAsync(cancel);
            var n = i;
            running.Add(Task.Run(async () =>
            {
                try
                {
                    var (status, kind) = await Invoke(call, n, cancel);
                    results.Add(new CallResult(due, clock.Elapsed - due, status, kind));
                }
                finally
                {
                    slots.Release();
                }
            }, CancellationToken.None));
        }

        await Task.WhenAll(running);
        return [.. results.OrderBy(r => r.Due)];
    }

    /// <summary>Runs <paramref name="concurrency"/> workers, each calling back to back, for <paramref name="duration"/>.</summary>
    public static async Task<IReadOnlyList<CallResult>> ClosedLoopAsync(
        Func<int, CancellationToken, Task<(StatusCode Status, string Kind)>> call, int concurrency, TimeSpan duration,
        CancellationToken cancel = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(concurrency);
        var results = new ConcurrentBag<CallResult>();
        var clock = Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < duration && !cancel.IsCancellationRequested)
            {
                var start = clock.Elapsed;
                var (status, kind) = await Invoke(call, Interlocked.Increment(ref next), cancel);
                results.Add(new CallResult(start, clock.Elapsed - start, status, kind));
            }
        }, CancellationToken.None)));
        return [.. results.OrderBy(r => r.Due)];
    }

    private static async Task<(StatusCode, string)> Invoke(
        Func<int, CancellationToken, Task<(StatusCode Status, string Kind)>> call, int n, CancellationToken cancel)
    {
        try
        {
            return await call(n, cancel);
        }
        catch (RpcException e)
        {
            return (e.StatusCode, "?");
        }
    }
}
