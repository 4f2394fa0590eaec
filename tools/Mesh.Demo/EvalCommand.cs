using System.Diagnostics;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Assistant.V1;
using SamplingParams = Mesh.Inference.V1.SamplingParams;

namespace Mesh.Demo;

/// <summary>
/// <c>eval</c>: runs a JSONL set (one object a line: <c>question</c>, optional <c>expected_answer</c>,
/// <c>expected_sources</c> as knowledge-base ids) through the assistant, one question at a time, and
/// writes <c>report.md</c> and <c>report.html</c> (with charts) into <c>--out</c>. A source id is the
/// payload's <c>id</c> field of a retrieved point (what <c>load</c> stores), else its point id.
/// </summary>
internal static class EvalCommand
{
    public static readonly IReadOnlySet<string> Flags = new HashSet<string>();

    /// <summary>One line of the evaluation set.</summary>
    public sealed record Item(string Question, string? ExpectedAnswer, IReadOnlyList<string> ExpectedSources);

    public static async Task<int> RunAsync(Options options)
    {
        var set = options.Require("set");
        var items = Load(set);
        using var channel = GrpcChannel.ForAddress(options.Gateway);
        var client = new AssistantService.AssistantServiceClient(channel);
        var key = new Metadata { { "authorization", $"Bearer {options.ApiKey}" } };
        var topK = options.Int("top-k", 4);
        var results = new List<EvalReport.Result>();
        foreach (var item in items)
        {
            var result = await AskAsync(client, key, item, options.Require("model"), options.Get("collection") ?? "demo", topK, options.Int("max-tokens", 64));
            results.Add(result);
            Console.WriteLine($"{results.Count,3}/{items.Count} hit={(result.Hit ? 1 : 0)} groundedness={Show(result.Groundedness)} relevance={Show(result.Relevance)} {result.TotalMs,7:F0} ms  {item.Question}");
        }

        var report = new EvalReport(results, topK, options.Require("model"), Path.GetFileName(set));
        var outDir = options.Get("out") ?? "eval-report";
        var (markdown, html) = report.Write(outDir);
        Console.WriteLine(report.Summary());
        Console.WriteLine($"wrote {markdown} and {html}");
        return 0;
    }

    /// <summary>Reads the set; a line without a question is an error naming the line.</summary>
    public static IReadOnlyList<Item> Load(string path)
    {
        var items = new List<Item>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.Trim().Length == 0)
            {
                continue;
            }

            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (!root.TryGetProperty("question", out var q) || q.ValueKind != JsonValueKind.String || q.GetString()!.Trim().Length == 0)
            {
                throw new ArgumentException($"{path}:{number}: every line needs a non-empty string \"question\"");
            }

            var expected = root.TryGetProperty("expected_sources", out var s) && s.ValueKind == JsonValueKind.Array
                ? s.EnumerateArray().Select(e => e.ToString()).ToList()
                : [];
            var answer = root.TryGetProperty("expected_answer", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
            items.Add(new Item(q.GetString()!, answer, expected));
        }

        return items.Count > 0 ? items : throw new ArgumentException($"{path} has no questions");
    }

    /// <summary>Asks one question and reads the whole stream.</summary>
    public static async Task<EvalReport.Result> AskAsync(
        AssistantService.AssistantServiceClient client, Metadata key, Item item, string model, string collection, int topK, int maxTokens)
    {
        var request = new AskRequest
        {
            Model = model,
            Collection = collection,
            TopK = topK,
            MaxTokens = maxTokens,
            Messages = { new ChatMessage { Role = Role.User, Content = item.Question } },
            Sampling = new SamplingParams { Temperature = 0, Seed = 1 },
        };
        var clock = Stopwatch.StartNew();
        using var call = client.Ask(request, key, DateTime.UtcNow.AddMinutes(2));
        var retrieved = new List<string>();
        var answer = new System.Text.StringBuilder();
        Done? done = null;
        var blocked = false;
        await foreach (var e in call.ResponseStream.ReadAllAsync())
        {
            switch (e.EventCase)
            {
                case AskResponse.EventOneofCase.Context:
                    retrieved.AddRange(e.Context.Points.Select(p =>
                        p.Payload?.Fields.TryGetValue("id", out var id) == true && id.StringValue.Length > 0 ? id.StringValue
                        : p.Id.KindCase == Mesh.Retrieval.V1.PointId.KindOneofCase.Uuid ? p.Id.Uuid : p.Id.Num.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                    break;
                case AskResponse.EventOneofCase.Delta:
                    answer.Append(e.Delta);
                    break;
                case AskResponse.EventOneofCase.Blocked:
                    blocked = true;
                    break;
                case AskResponse.EventOneofCase.Done:
                    done = e.Done;
                    break;
            }
        }

        var total = done?.Timings.TotalMs ?? clock.Elapsed.TotalMilliseconds;
        var scores = done?.Scores;
        return new EvalReport.Result(
            item, retrieved, item.ExpectedSources.Any(retrieved.Contains), answer.ToString(), blocked,
            scores is { HasGroundedness: true } ? scores.Groundedness : null,
            scores is { HasAnswerRelevance: true } ? scores.AnswerRelevance : null,
            total, done?.Timings.TimeToFirstDeltaMs);
    }

    private static string Show(double? value) => value is { } v ? v.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "-";
}
