using System.Globalization;
using System.Text.RegularExpressions;

namespace Mesh.Demo;

/// <summary>
/// Work per answer that does not depend on how loaded the machine is: CPU time of each service
/// process (utime + stime from <c>/proc/PID/stat</c>, of the pids <c>scripts/mesh.sh up</c> wrote)
/// and gRPC calls through the gateway by method (the gateway's
/// <c>mesh_gateway_call_duration_seconds_count</c> on /metrics), both taken as the difference of a
/// snapshot at the end of the warm-up and one at the end of the run. On a shared machine wall-clock
/// percentiles move with other people's work; these numbers move only with Mesh's. The services'
/// idle CPU (health probes, metric collection), measured over a quiet interval before the run, is
/// also taken off, so runs of different throughput compare.
/// </summary>
internal sealed partial class BenchAccounting
{
    private readonly Dictionary<string, double> _cpuSeconds;
    private readonly Dictionary<string, double> _calls;

    private readonly long _timestamp = System.Diagnostics.Stopwatch.GetTimestamp();

    private BenchAccounting(Dictionary<string, double> cpuSeconds, Dictionary<string, double> calls)
    {
        _cpuSeconds = cpuSeconds;
        _calls = calls;
    }

    /// <summary>Snapshot now: CPU seconds per service in <paramref name="pidDirectory"/>, calls per method on <paramref name="metricsUrl"/>.</summary>
    public static async Task<BenchAccounting> TakeAsync(string pidDirectory, string metricsUrl)
    {
        var cpu = new Dictionary<string, double>(StringComparer.Ordinal);
        if (Directory.Exists(pidDirectory))
        {
            foreach (var file in Directory.GetFiles(pidDirectory, "*.pid").Order(StringComparer.Ordinal))
            {
                if (int.TryParse(File.ReadAllText(file).Trim(), out var pid) && CpuSeconds(pid) is { } seconds)
                {
                    cpu[Path.GetFileNameWithoutExtension(file)] = seconds;
                }
            }
        }

        var calls = new Dictionary<string, double>(StringComparer.Ordinal);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var text = await http.GetStringAsync(metricsUrl).ConfigureAwait(false);
            foreach (Match m in CallCount().Matches(text))
            {
                var method = m.Groups["method"].Value;
                calls[method] = calls.GetValueOrDefault(method) + double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
            }
        }
        catch (HttpRequestException)
        {
            // No metrics endpoint: the report leaves the calls out.
        }

        return new BenchAccounting(cpu, calls);
    }

    /// <summary>
    /// Prints CPU ms and gateway calls per answer between <paramref name="start"/> and this snapshot;
    /// the idle CPU rate of each process between <paramref name="idleStart"/> and <paramref name="idleEnd"/>
    /// (no calls in between) is taken off.
    /// </summary>
    public void Print(BenchAccounting start, int answers, BenchAccounting idleStart, BenchAccounting idleEnd)
    {
        if (answers == 0)
        {
            return;
        }

        if (_cpuSeconds.Count > 0)
        {
            var window = Seconds(start, this);
            var idleWindow = Math.Max(1e-3, Seconds(idleStart, idleEnd));
            Console.WriteLine("| process | CPU ms per answer | less idle CPU |");
            Console.WriteLine("|---|---:|---:|");
            double total = 0, totalNet = 0;
            foreach (var (name, seconds) in _cpuSeconds)
            {
                var used = seconds - start._cpuSeconds.GetValueOrDefault(name);
                var idleRate = (idleEnd._cpuSeconds.GetValueOrDefault(name) - idleStart._cpuSeconds.GetValueOrDefault(name)) / idleWindow;
                var net = Math.Max(0, used - idleRate * window);
                total += used;
                totalNet += net;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {used * 1000 / answers:F2} | {net * 1000 / answers:F2} |"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| **all services** | **{total * 1000 / answers:F2}** | **{totalNet * 1000 / answers:F2}** |"));
        }

        var calls = _calls.Select(c => (c.Key, Per: (c.Value - start._calls.GetValueOrDefault(c.Key)) / answers)).Where(c => c.Per >= 0.005).ToList();
        if (calls.Count > 0)
        {
            Console.WriteLine("| gRPC method through the gateway | calls per answer |");
            Console.WriteLine("|---|---:|");
            foreach (var (method, per) in calls.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {method} | {per:F2} |"));
            }
        }
    }

    private static double Seconds(BenchAccounting from, BenchAccounting to) =>
        System.Diagnostics.Stopwatch.GetElapsedTime(from._timestamp, to._timestamp).TotalSeconds;

    /// <summary>utime + stime of a process in seconds (fields 14 and 15 of /proc/PID/stat, after the parenthesised name); null when gone.</summary>
    private static double? CpuSeconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is field 3 (state): utime is field 14, stime field 15; in clock ticks (USER_HZ, 100 on Linux).
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / 100.0;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    [GeneratedRegex("""^mesh_gateway_call_duration_seconds_count\{(?=[^}]*rpc_method="(?<method>[^"]+)")[^}]*\}\s+(?<n>[0-9.eE+]+)""", RegexOptions.Multiline)]
    private static partial Regex CallCount();
}
