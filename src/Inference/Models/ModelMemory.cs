using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Mesh.Inference.Models;

/// <summary>
/// Memory checks and page-in for memory-mapped weights: a model whose files exceed the memory
/// available is refused before anything is mapped (with both sizes), and after mapping, the weights
/// are read once, page by page, so the first request does not pay for the disk reads; large files
/// report progress on the log at most once a second.
/// </summary>
public static class ModelMemory
{
    /// <summary>Files at least this large report page-in progress.</summary>
    public const long ProgressThresholdBytes = 256L << 20;

    /// <summary>
    /// Bytes of memory available for a model: Linux's MemAvailable (free plus reclaimable page
    /// cache), capped by the container or process limit the runtime sees.
    /// </summary>
    public static long AvailableBytes()
    {
        var limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                    && long.TryParse(line["MemAvailable:".Length..].Trim().Split(' ')[0], out var kb))
                {
                    return Math.Min(limit, kb * 1024);
                }
            }
        }
        catch (IOException)
        {
            // Not Linux, or /proc is not mounted: the runtime's limit is the best estimate.
        }
        catch (UnauthorizedAccessException)
        {
        }

        return limit;
    }

    /// <summary>Refuses a model of <paramref name="modelBytes"/> when only <paramref name="availableBytes"/> are available.</summary>
    /// <exception cref="ModelFormatException">The model does not fit; the message gives both sizes.</exception>
    public static void EnsureFits(string path, long modelBytes, long availableBytes)
    {
        if (modelBytes > availableBytes)
        {
            throw new ModelFormatException(path, "size",
                $"the model's files take {Format(modelBytes)} but only {Format(availableBytes)} of memory is available; free memory or use a smaller (more quantized) file");
        }
    }

    /// <summary>
    /// Reads one byte of every page of <paramref name="matrices"/>; when they total at least
    /// <paramref name="progressThresholdBytes"/>, logs progress at most once a second and a final line.
    /// </summary>
    public static unsafe void PageIn(IEnumerable<WeightMatrix> matrices, string modelId, ILogger? logger, long progressThresholdBytes = ProgressThresholdBytes)
    {
        var list = matrices.ToList();
        var total = list.Sum(m => m.ByteLength);
        var progress = Throttled(logger, total, progressThresholdBytes,
            done => logger!.LogInformation("Loading {Model}: {Done} of {Total} ({Percent}%)", modelId, Format(done), Format(total), done * 100 / total),
            seconds => logger!.LogInformation("Loaded {Model}: {Total} of weights paged in in {Seconds:F1} s", modelId, Format(total), seconds));
        long done = 0;
        var sink = 0;
        foreach (var m in list)
        {
            var p = (byte*)m.Data;
            for (long offset = 0; offset < m.ByteLength; offset += Environment.SystemPageSize)
            {
                sink += p[offset];
            }

            done += m.ByteLength;
            progress?.Report(done);
        }

        GC.KeepAlive(sink);
    }

    /// <summary>
    /// Progress of copying a <paramref name="totalBytes"/> file of <paramref name="modelId"/> into memory
    /// (<see cref="WeightMemory.HugePages"/>): logged at most once a second, and only for files of at least
    /// <paramref name="progressThresholdBytes"/>; null when there is nothing to log.
    /// </summary>
    public static IProgress<long>? CopyProgress(string modelId, long totalBytes, ILogger? logger, long progressThresholdBytes = ProgressThresholdBytes) =>
        Throttled(logger, totalBytes, progressThresholdBytes,
            done => logger!.LogInformation("Reading {Model}: {Done} of {Total} ({Percent}%)", modelId, Format(done), Format(totalBytes), done * 100 / totalBytes),
            seconds => logger!.LogInformation("Read {Model}: {Total} onto huge pages in {Seconds:F1} s", modelId, Format(totalBytes), seconds));

    /// <summary>
    /// The one progress of loading: bytes done so far reported to <paramref name="step"/> at most once a
    /// second, and the seconds taken to <paramref name="finished"/> once all <paramref name="totalBytes"/>
    /// are done; null (nothing to log) without a logger or under <paramref name="thresholdBytes"/>.
    /// </summary>
    private static IProgress<long>? Throttled(ILogger? logger, long totalBytes, long thresholdBytes, Action<long> step, Action<double> finished)
    {
        if (logger is null || totalBytes < thresholdBytes)
        {
            return null;
        }

        var clock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        return new SynchronousProgress(done =>
        {
            if (done >= totalBytes)
            {
                finished(clock.Elapsed.TotalSeconds);
            }
            else if (clock.Elapsed - lastReport >= TimeSpan.FromSeconds(1))
            {
                lastReport = clock.Elapsed;
                step(done);
            }
        });
    }

    /// <summary>
    /// Logs how much of the memory holding <paramref name="matrices"/> the kernel backed with 2 MiB pages
    /// (<see cref="WeightMemory.HugePages"/> asks for them, but a fragmented machine may have none free, and
    /// then decode streams from 4 KiB pages), from the mappings' AnonHugePages in /proc/self/smaps.
    /// </summary>
    public static void LogHugePages(IEnumerable<WeightMatrix> matrices, string modelId, ILogger? logger)
    {
        if (logger is null || !OperatingSystem.IsLinux())
        {
            return;
        }

        var (huge, total) = HugePageBytes(matrices.Select(m => (nuint)m.Data), File.ReadLines("/proc/self/smaps"));
        logger.LogInformation("Model {Model}: {Huge} of the {Total} holding its weights on 2 MiB pages", modelId, Format(huge), Format(total));
    }

    /// <summary>
    /// The AnonHugePages bytes and the sizes of the mappings in <paramref name="smaps"/> (the format of
    /// /proc/PID/smaps) that contain any of <paramref name="addresses"/>, each mapping counted once.
    /// </summary>
    public static (long HugeBytes, long TotalBytes) HugePageBytes(IEnumerable<nuint> addresses, IEnumerable<string> smaps)
    {
        var wanted = addresses.Order().ToArray();
        long huge = 0, total = 0;
        var inside = false;
        foreach (var line in smaps)
        {
            if (TryParseMapping(line, out var start, out var end))
            {
                var i = Array.BinarySearch(wanted, start);
                inside = (i >= 0) || (~i < wanted.Length && wanted[~i] < end);
                if (inside)
                {
                    total += (long)(end - start);
                }
            }
            else if (inside && line.StartsWith("AnonHugePages:", StringComparison.Ordinal)
                && long.TryParse(line["AnonHugePages:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture, out var kib))
            {
                huge += kib * 1024;
            }
        }

        return (huge, total);
    }

    /// <summary>Whether <paramref name="line"/> of /proc/PID/smaps opens a mapping (<c>start-end perms …</c>), and its range.</summary>
    internal static bool TryParseMapping(string line, out nuint start, out nuint end)
    {
        start = end = 0;
        var dash = line.IndexOf('-');
        var space = line.IndexOf(' ');
        return dash > 0 && space > dash
            && nuint.TryParse(line.AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber, null, out start)
            && nuint.TryParse(line.AsSpan(dash + 1, space - dash - 1), System.Globalization.NumberStyles.HexNumber, null, out end);
    }

    /// <summary>Bytes as MiB or GiB with one decimal.</summary>
    public static string Format(long bytes) =>
        bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):F1} GiB" : $"{bytes / (double)(1L << 20):F1} MiB";

    // Progress<T> posts to the thread pool, so its lines could come after the load's own; this reports in line.
    private sealed class SynchronousProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
