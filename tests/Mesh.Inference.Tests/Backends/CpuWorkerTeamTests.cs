using System.Diagnostics;
using Mesh.Inference.Backends.Cpu;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// The CPU backend's persistent worker team: every item of a region runs exactly once and on more
/// than one thread, a body's exception reaches the caller, nested and concurrent regions neither
/// deadlock nor lose items, Dispose stops the threads.
/// </summary>
public sealed class CpuWorkerTeamTests
{
    [Fact]
    public void Every_item_runs_exactly_once_and_the_workers_take_part()
    {
        using var team = new CpuWorkerTeam(4);
        var threads = new HashSet<int>();
        foreach (var count in new[] { 2, 3, 17, 1000 })
        {
            for (var region = 0; region < 50; region++)
            {
                var runs = new int[count];
                var ids = new int[count];
                team.For(count, i =>
                {
                    Interlocked.Increment(ref runs[i]);
                    ids[i] = Environment.CurrentManagedThreadId;
                    Thread.SpinWait(200);
                });
                Assert.All(runs, r => Assert.Equal(1, r));
                threads.UnionWith(ids);
            }
        }

        Assert.True(threads.Count > 1, "every item of 200 regions ran on the calling thread: the workers never took part");
        Assert.Equal(3, team.LiveThreads);
    }

    [Fact]
    public void A_body_exception_is_rethrown_on_the_caller_and_the_team_stays_usable()
    {
        using var team = new CpuWorkerTeam(3);
        var error = Assert.Throws<InvalidOperationException>(() => team.For(64, i =>
        {
            Thread.SpinWait(100);
            if (i == 37)
            {
                throw new InvalidOperationException("item 37 failed");
            }
        }));
        Assert.Equal("item 37 failed", error.Message);

        var runs = new int[64];
        team.For(64, i => Interlocked.Increment(ref runs[i]));
        Assert.All(runs, r => Assert.Equal(1, r));
    }

    [Fact]
    public async Task A_region_started_inside_a_region_or_by_a_second_caller_runs_every_item()
    {
        using var team = new CpuWorkerTeam(3);
        var inner = new int[8 * 16];
        team.For(8, outer => team.For(16, i => Interlocked.Increment(ref inner[(outer * 16) + i])));
        Assert.All(inner, r => Assert.Equal(1, r));

        var a = new int[500];
        var b = new int[500];
        var callers = new[] { a, b }.Select(runs => Task.Run(() =>
        {
            for (var region = 0; region < 100; region++)
            {
                team.For(5, i => Interlocked.Increment(ref runs[(region * 5) + i]));
            }
        })).ToArray();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(60)); // a TimeoutException here: two callers deadlocked
        Assert.All(a, r => Assert.Equal(1, r));
        Assert.All(b, r => Assert.Equal(1, r));
    }

    [Fact]
    public void Dispose_stops_the_threads_and_later_regions_are_refused()
    {
        var team = new CpuWorkerTeam(4);
        Assert.Equal(0, team.LiveThreads); // started by the first region, not before
        team.For(16, _ => Thread.SpinWait(100));
        Assert.Equal(3, team.LiveThreads);

        team.Dispose();
        Assert.Equal(0, team.LiveThreads);
        Assert.Throws<ObjectDisposedException>(() => team.For(16, _ => { }));
        team.Dispose(); // twice is harmless
    }

    [Fact]
    public void A_team_of_one_runs_on_the_caller_without_threads()
    {
        using var team = new CpuWorkerTeam(1);
        var ids = new HashSet<int>();
        team.For(10, _ => { lock (ids) { ids.Add(Environment.CurrentManagedThreadId); } });
        Assert.Equal([Environment.CurrentManagedThreadId], ids);
        Assert.Equal(0, team.LiveThreads);
    }
}
