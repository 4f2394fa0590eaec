using System.Diagnostics;
using Grpc.Core;
using Mesh.Guard.V1;

namespace Mesh.Guard.Bench;

/// <summary>
/// CheckStream cost against stream length: N chunks of one 57-character sentence (issue 10's
/// reproducer), default policy, output stage (secrets and PII). A linear stream costs twice as
/// much for twice the chunks; the old whole-text re-check per chunk cost up to four times.
/// </summary>
internal static class StreamBench
{
    private const string Sentence = "The service restarted cleanly and the queue is draining. ";

    public static async Task Run(GuardService.GuardServiceClient client, int repeats, int[] chunkCounts)
    {
        await Stream(client, chunkCounts[0]); // warm up
        Console.WriteLine();
        Console.WriteLine($"CheckStream over gRPC, default policy, output stage, chunks of {Sentence.Length} characters, median of {repeats}");
        Console.WriteLine();
        Console.WriteLine("| chunks | characters | p50 ms | ms per chunk | p50 vs first row |");
        Console.WriteLine("|---:|---:|---:|---:|---:|");
        double? first = null;
        foreach (var chunks in chunkCounts)
        {
            var times = new double[repeats];
            for (var i = 0; i < repeats; i++)
            {
                var started = Stopwatch.GetTimestamp();
                await Stream(client, chunks);
                times[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }
            Array.Sort(times);
            var p50 = times[repeats / 2];
            first ??= p50;
            Console.WriteLine($"| {chunks} | {chunks * Sentence.Length} | {p50:F1} | {p50 / chunks:F3} | {p50 / first:F2}x |");
        }
    }

    private static async Task Stream(GuardService.GuardServiceClient client, int chunks)
    {
        using var call = client.CheckStream();
        for (var i = 0; i < chunks; i++)
        {
            await call.RequestStream.WriteAsync(new CheckStreamRequest { Chunk = Sentence, Policy = i == 0 ? "default" : "", Stage = i == 0 ? Stage.Output : Stage.Unspecified });
            await call.ResponseStream.MoveNext(CancellationToken.None);
        }
        await call.RequestStream.CompleteAsync();
        while (await call.ResponseStream.MoveNext(CancellationToken.None))
        {
        }
    }
}
