using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// A fork-join team of persistent threads, as OpenMP's or ggml's thread pool: the calling thread is
/// worker 0 and <c>size - 1</c> background threads are the others. A parallel region (count, body) is
/// published as one object; every member, the caller included, claims items with
/// <see cref="Interlocked.Increment(ref int)"/> until none are left, so a core slowed by other load takes
/// fewer items. Idle workers spin briefly (the next region of a forward pass follows within
/// microseconds) and then park, so an idle server uses no CPU. Regions run one at a time: a region
/// started while another runs (a body that starts one, or a second caller) runs on its caller's thread.
/// </summary>
internal sealed class CpuWorkerTeam : IDisposable
{
    // How long an idle worker spins (busy at first, then yielding) before it parks: longer than the gap
    // between two regions of a step and between steps, far shorter than an idle period. Bounded by time,
    // not by count: on a loaded machine each yield can last a whole time slice, and a count of yields
    // would keep the worker runnable, competing with the caller, for the whole of a step.
    private static readonly long SpinTicks = Stopwatch.Frequency / 1000;

    // Checks of the region's remaining count by the caller before it blocks on the region.
    private const int CallerSpins = 200;

    private readonly object _gate = new();
    private Thread[]? _threads;
    private Region? _current;
    private int _parked;
    private int _busy;
    private volatile bool _disposed;

    /// <summary>A team of <paramref name="size"/> members (the caller and size - 1 threads, started on first use).</summary>
    public CpuWorkerTeam(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        Size = size;
    }

    /// <summary>Members, the calling thread included.</summary>
    public int Size { get; }

    /// <summary>The team's threads still running (0 before the first region and after <see cref="Dispose"/>).</summary>
    public int LiveThreads => _threads?.Count(t => t.IsAlive) ?? 0;

    /// <summary>
    /// Runs <paramref name="body"/>(i) once for every i in [0, <paramref name="count"/>) over the team and
    /// returns when all have finished. The first exception a body throws is rethrown here (the items not
    /// yet started are skipped).
    /// </summary>
    public void For(int count, Action<int> body)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (count <= 0)
        {
            return;
        }

        if (Size == 1 || count == 1 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            // One member, one item, or a region already running (nested or concurrent): this thread alone.
            for (var i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        try
        {
            EnsureStarted();
            var region = new Region(count, body);

            // Publish, then wake the parked: a full fence between the two (Exchange) pairs with the
            // worker's increment of _parked before its last look at _current, so no wake-up is lost.
            Interlocked.Exchange(ref _current, region);
            if (Volatile.Read(ref _parked) > 0)
            {
                lock (_gate)
                {
                    Monitor.PulseAll(_gate);
                }
            }

            region.Work();
            region.WaitUntilDone(CallerSpins);
            if (region.Error is { } error)
            {
                ExceptionDispatchInfo.Capture(error).Throw();
            }
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>Stops the threads (parked or spinning) and waits for them to end.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }

        foreach (var thread in _threads ?? [])
        {
            thread.Join();
        }
    }

    // Threads start on the first parallel region, so a backend whose steps all stay under the
    // small-work threshold (tiny models) never starts any.
    private void EnsureStarted()
    {
        if (_threads is not null)
        {
            return;
        }

        var threads = new Thread[Size - 1];
        for (var t = 0; t < threads.Length; t++)
        {
            threads[t] = new Thread(Loop) { IsBackground = true, Name = $"Mesh CPU worker {t + 1}" };
        }

        _threads = threads;
        foreach (var thread in threads)
        {
            thread.Start();
        }
    }

    private void Loop()
    {
        Region? seen = null;
        while (true)
        {
            var region = Next(seen);
            if (region is null)
            {
                return;
            }

            region.Work();
            seen = region;
        }
    }

    /// <summary>The region published after <paramref name="seen"/>, spinning then parking; null once disposed.</summary>
    private Region? Next(Region? seen)
    {
        var spinner = default(SpinWait);
        var start = Stopwatch.GetTimestamp();
        while (Stopwatch.GetTimestamp() - start < SpinTicks)
        {
            var current = Volatile.Read(ref _current);
            if (_disposed)
            {
                return null;
            }

            if (current != seen)
            {
                return current;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        lock (_gate)
        {
            Interlocked.Increment(ref _parked);
            try
            {
                while (true)
                {
                    var current = Volatile.Read(ref _current);
                    if (_disposed)
                    {
                        return null;
                    }

                    if (current != seen)
                    {
                        return current;
                    }

                    Monitor.Wait(_gate);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _parked);
            }
        }
    }

    /// <summary>
    /// One parallel region. A fresh object per region, so a worker that wakes late only finds a region
    /// with nothing left to claim and can never take an item of the next one.
    /// </summary>
    private sealed class Region(int count, Action<int> body)
    {
        private readonly int _count = count;
        private int _next = -1;
        private int _remaining = count;
        private int _callerWaiting;
        private Exception? _error;

        public Exception? Error => Volatile.Read(ref _error);

        /// <summary>Claims and runs items until none are left.</summary>
        public void Work()
        {
            int item;
            while ((item = Interlocked.Increment(ref _next)) < _count)
            {
                if (Volatile.Read(ref _error) is null)
                {
                    try
                    {
                        body(item);
                    }
                    catch (Exception e)
                    {
                        Interlocked.CompareExchange(ref _error, e, null);
                    }
                }

                if (Interlocked.Decrement(ref _remaining) == 0 && Volatile.Read(ref _callerWaiting) != 0)
                {
                    lock (this)
                    {
                        Monitor.PulseAll(this);
                    }
                }
            }
        }

        /// <summary>Returns once every item has finished: spins a little, then blocks.</summary>
        public void WaitUntilDone(int spins)
        {
            var spinner = default(SpinWait);
            for (var spin = 0; spin < spins; spin++)
            {
                if (Volatile.Read(ref _remaining) == 0)
                {
                    return;
                }

                spinner.SpinOnce(sleep1Threshold: -1);
            }

            lock (this)
            {
                // Full fence (Exchange) before the re-check pairs with the finisher's Decrement before
                // its read of _callerWaiting: either it sees the flag and pulses, or this sees zero.
                Interlocked.Exchange(ref _callerWaiting, 1);
                while (Volatile.Read(ref _remaining) != 0)
                {
                    Monitor.Wait(this);
                }
            }
        }
    }
}
