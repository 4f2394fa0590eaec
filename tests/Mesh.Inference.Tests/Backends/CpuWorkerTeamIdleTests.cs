using System.Diagnostics;
using Mesh.Inference.Backends.Cpu;
using Xunit.Abstractions;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// An idle worker team parks: a server with no requests burns no CPU. On Linux the CPU time of the
/// team's own threads is read from /proc (the runtime's background threads do not count); elsewhere
/// the whole process's, so the test runs alone (<see cref="SerialCollection"/>).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class CpuWorkerTeamIdleTests(ITestOutputHelper output)
{
    [Fact]
    public void An_idle_team_uses_no_cpu_and_wakes_for_the_next_region()
    {
        using var team = new CpuWorkerTeam(4);
        var runs = new int[256];
        team.For(runs.Length, i => Interlocked.Increment(ref runs[i]));
        Thread.Sleep(200); // past the spin phase: the workers park

        var (before, _) = Workers();
        var running = new List<string>();
        for (var sample = 0; sample < 20; sample++)
        {
            Thread.Sleep(50);
            running.AddRange(Workers().Running);
        }

        var used = Workers().CpuTime - before;
        output.WriteLine($"worker CPU time while idle for 1 s: {used.TotalMilliseconds:F0} ms; samples with a worker running: {running.Count}");

        // On a loaded machine a worker that spins with yields gets little CPU, so its state counts too:
        // a parked worker sleeps (S), a spinning one is runnable (R) whenever it is looked at.
        Assert.True(running.Count == 0, $"workers found running in {running.Count} looks while the team was idle: {string.Join(", ", running.Distinct())}");

        // Three spinning workers would use up to a second each; parked they use none (the limit leaves
        // room for the clock-tick granularity of /proc, or for the runtime's own work elsewhere).
        Assert.True(used < TimeSpan.FromMilliseconds(100), $"the team's threads used {used.TotalMilliseconds:F0} ms of CPU in 1 s while idle");
        Assert.Equal(3, team.LiveThreads);

        team.For(runs.Length, i => Interlocked.Increment(ref runs[i]));
        Assert.All(runs, r => Assert.Equal(2, r));
    }

    /// <summary>
    /// User + system CPU time of every "Mesh CPU worker" thread and those of them in state R (Linux);
    /// elsewhere the process's CPU time and no states.
    /// </summary>
    private static (TimeSpan CpuTime, List<string> Running) Workers()
    {
        var running = new List<string>();
        if (!OperatingSystem.IsLinux())
        {
            using var process = Process.GetCurrentProcess();
            return (process.TotalProcessorTime, running);
        }

        long ticks = 0;
        var workers = 0;
        foreach (var task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                if (!File.ReadAllText(Path.Combine(task, "comm")).StartsWith("Mesh CPU worker", StringComparison.Ordinal))
                {
                    continue;
                }

                // Fields after "(comm) ": state is the first, utime the 12th, stime the 13th (proc(5)).
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11]) + long.Parse(fields[12]);
                if (fields[0] == "R")
                {
                    running.Add($"thread {Path.GetFileName(task)}");
                }

                workers++;
            }
            catch (IOException)
            {
                // a thread that ended between the listing and the read
            }
        }

        Assert.True(workers >= 3, $"found {workers} 'Mesh CPU worker' threads in /proc/self/task, expected the team's 3");
        return (TimeSpan.FromSeconds(ticks / 100.0), running); // USER_HZ is 100 on Linux
    }
}
