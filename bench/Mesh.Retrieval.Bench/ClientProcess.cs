using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Grpc.Net.Client;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Bench;

/// <summary>
/// Runs the gRPC clients of one service measurement in a child process, as a deployed caller (the gateway)
/// runs in its own process: the client's work (request encoding, HTTP/2 client, response decoding, the
/// channel's tracing hooks) is then not charged to the service's process. Both processes still share this
/// machine's cores, so queries/s includes the client's CPU as before; the service's own CPU time per query
/// (this process, measured while the child runs) is reported beside it and is what the service costs.
/// </summary>
internal static class ClientProcess
{
    public const string Flag = "--client-process";

    /// <summary>Result of one child run: hits per query, queries/s, and CPU µs per query of each process.</summary>
    public sealed record Result(IReadOnlyCollection<long>[] Found, double Qps, double ServerCpuUsPerQuery, double ClientCpuUsPerQuery);

    /// <summary>Writes the queries once as raw little-endian float32 rows for the child processes to read.</summary>
    public static string WriteQueries(float[][] queries, string folder)
    {
        var path = Path.Combine(folder, "queries.f32");
        using var file = File.Create(path);
        foreach (var query in queries)
        {
            file.Write(MemoryMarshal.AsBytes(query.AsSpan()));
        }
        return path;
    }

    /// <summary>
    /// Starts a child that sends every query (<paramref name="batch"/> 1: Search, more: SearchBatch) from
    /// <paramref name="clients"/> concurrent callers, and waits for it.
    /// </summary>
    public static async Task<Result> MeasureAsync(Uri address, string queryFile, int queryCount, int dimensions, int ef, int clients, int batch, string? filterField)
    {
        var start = new ProcessStartInfo { FileName = Environment.ProcessPath!, RedirectStandardOutput = true, UseShellExecute = false };
        // Runtime knobs tried on the service (thread pool, sockets, perf maps) are the service's alone: the
        // client, standing in for the gateway, runs with the runtime's defaults.
        foreach (var name in start.Environment.Keys.Where(k => ChildDropsVariable(k)).ToArray())
        {
            start.Environment.Remove(name);
        }
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ClientProcess).Assembly.Location);
        }
        foreach (var arg in new[] { Flag, address.ToString(), queryFile, $"{dimensions}", $"{ef}", $"{clients}", $"{batch}", filterField ?? "-" })
        {
            start.ArgumentList.Add(arg);
        }
        using var child = Process.Start(start)!;
        // The child says when its timed loop starts and ends, so that its start-up (while this process idles)
        // is not counted as the service's CPU.
        TimeSpan? from = null, to = null;
        string? line;
        while ((line = await child.StandardOutput.ReadLineAsync()) is not null && line != "done")
        {
            if (line == "go")
            {
                from = Environment.CpuUsage.TotalTime;
            }
        }
        to = Environment.CpuUsage.TotalTime;
        var output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (child.ExitCode != 0 || from is null || lines.Length != queryCount + 1)
        {
            throw new InvalidOperationException($"The client process exited with {child.ExitCode} after {lines.Length} lines.");
        }
        var serverCpu = to.Value - from.Value;
        var head = lines[0].Split(' ');
        var found = lines.Skip(1).Select(l => (IReadOnlyCollection<long>)l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray()).ToArray();
        return new Result(found, double.Parse(head[0], CultureInfo.InvariantCulture), serverCpu.TotalMicroseconds / queryCount,
            double.Parse(head[1], CultureInfo.InvariantCulture));
    }

    /// <summary>The child's side: runs the searches and writes "qps cpu" then one line of hit ids per query.</summary>
    public static async Task<int> RunChildAsync(string[] args)
    {
        var at = Array.IndexOf(args, Flag);
        var address = new Uri(args[at + 1]);
        var bytes = File.ReadAllBytes(args[at + 2]);
        var dimensions = int.Parse(args[at + 3], CultureInfo.InvariantCulture);
        var (ef, clients, batch, field) = (int.Parse(args[at + 4], CultureInfo.InvariantCulture), int.Parse(args[at + 5], CultureInfo.InvariantCulture),
            int.Parse(args[at + 6], CultureInfo.InvariantCulture), args[at + 7]);
        var all = MemoryMarshal.Cast<byte, float>(bytes).ToArray();
        var queries = Enumerable.Range(0, all.Length / dimensions).Select(i => all.AsSpan(i * dimensions, dimensions).ToArray()).ToArray();
        using var channel = ServiceClient.Channel(address);
        var client = new RetrievalService.RetrievalServiceClient(channel);
        var filter = field == "-" ? null : ServiceClient.Filter(field);
        var (found, measurement) = batch > 1
            ? await ServiceClient.SearchBatchesAsync(client, queries, ef, clients, batch, Signal)
            : await ServiceClient.SearchAsync(client, queries, ef, clients, filter, Signal);
        Signal("done");
        var text = new System.Text.StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{measurement.Qps:R} {measurement.CpuUsPerQuery:R}\n");
        foreach (var hits in found)
        {
            text.AppendJoin(' ', hits).Append('\n');
        }
        Console.Out.Write(text.ToString());
        return 0;
    }

    private static bool ChildDropsVariable(string name) =>
        name.StartsWith("DOTNET_ThreadPool_", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("DOTNET_SYSTEM_NET_SOCKETS_", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("DOTNET_PerfMap", StringComparison.OrdinalIgnoreCase)
        || name.Equals("DOTNET_EnableWriteXorExecute", StringComparison.OrdinalIgnoreCase);

    private static void Signal(string what)
    {
        Console.Out.Write(what + "\n");
        Console.Out.Flush();
    }
}
