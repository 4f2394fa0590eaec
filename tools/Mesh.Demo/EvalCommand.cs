using System.Diagnostics;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Assistant.V1;
using Mesh.Guard.V1;
using SamplingParams = Mesh.Inference.V1.SamplingParams;

namespace Mesh.Demo;

/// <summary>
/// <c>eval</c>: runs a JSONL set (one object a line: <c>question</c>, optional <c>expected_answer</c>,
/// <c>expected_sources</c> as knowledge-base ids) through the assistant, one question at a time, and
/// writes <c>report.md</c> and <c>report.html</c> (with charts) into <c>--out</c>. A source id is the
/// payload's <c>id</c> field of a retrieved point (what <c>load</c> stores), else its point id.
/// With <c>--judge</c> each answer is also graded 1..5 by Guard's judge (<see cref="EvalJudge"/>).
/// </summary>
internal static class EvalCommand
{
    public static readonly IReadOnlySet<string> Flags = new HashSet<string> { "judge" };

    /// <summary>One line of the evaluation set.</summary>
    public sealed record Item(string Question, string? ExpectedAnswer, IReadOnlyList<string> ExpectedSources);

    /// <summary>How each question is asked: model, collection, k, answer length; the judge's policy when judging.</summary>
    public sealed record Settings(string Model, string Collection, int TopK, int MaxTokens, bool Judge, string JudgePolicy);

    public static async Task<int> RunAsync(Options options)
    {
        var set = options.Require("set");
        if (options.Get("judge-policy") is not null && !options.Flag("judge"))
        {
            throw new ArgumentException("--judge-policy picks the judge's rubric: pass --judge with it");
        }

        var items = Load(set);
        var settings = new Settings(
            options.Require("model"), options.Get("collection") ?? "demo", options.Int("top-k", 4), options.Int("max-tokens", 64),
            options.Flag("judge"), options.Get("judge-policy") ?? "");
        using var channel = GrpcChannel.ForAddress(options.Gateway);
        var key = new Metadata { { "authorization", $"Bearer {options.ApiKey}" } };
        var results = await RunSetAsync(channel, key, items, settings, (result, done) =>
            Console.WriteLine($"{done,3}/{items.Count} hit={(result.Hit ? 1 : 0)} groundedness={Show(result.Groundedness)} relevance={Show(result.Relevance)}"
                + (settings.Judge ? $" judge={result.Judge?.Show() ?? "-"}" : "") + $" {result.TotalMs,7:F0} ms  {result.Item.Question}"));

        var report = new EvalReport(results, settings.TopK, settings.Model, Path.GetFileName(set));
        var outDir = options.Get("out") ?? "eval-report";
        var (markdown, html) = report.Write(outDir);
        Console.WriteLine(report.Summary());
        Console.WriteLine($"wrote {markdown} and {html}");
        return 0;
    }

    /// <summary>
    /// Asks every item in order through the gateway at <paramref name="channel"/> and, with
    /// <see cref="Settings.Judge"/>, has each answer graded; <paramref name="progress"/> sees each result
    /// and how many are done. A judge that is not configured (or a policy that does not exist) ends
    /// the run with Guard's RpcException at the first answer; see <see cref="EvalJudge"/>.
    /// </summary>
    public static async Task<IReadOnlyList<EvalReport.Result>> RunSetAsync(
        GrpcChannel channel, Metadata key, IReadOnlyList<Item> items, Settings settings, Action<EvalReport.Result, int>? progress = null)
    {
        var assistant = new AssistantService.AssistantServiceClient(channel);
        var judge = settings.Judge ? new EvalJudge(new QualityService.QualityServiceClient(channel), key, settings.Model, settings.JudgePolicy) : null;
        var results = new List<EvalReport.Result>(items.Count);
        foreach (var item in items)
        {
            var result = await AskAsync(assistant, key, item, settings.Model, settings.Collection, settings.TopK, settings.MaxTokens);
            if (judge is not null)
            {
                result = result with { Judge = await judge.GradeAsync(result, $"eval-{results.Count + 1}") };
            }

            results.Add(result);
            progress?.Invoke(result, results.Count);
        }

        return results;
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
        var sources = new List<AnswerSource>();
        var answer = new System.Text.StringBuilder();
        Done? done = null;
        var blocked = false;
        await foreach (var e in call.ResponseStream.ReadAllAsync())
        {
            switch (e.EventCase)
            {
                case AskResponse.EventOneofCase.Context:
                    // The knowledge-base id (payload "id", what `load` stores) else the point id, and
                    // the text the model was shown as that source.
                    sources.AddRange(e.Context.Points.Select(p => new AnswerSource
                    {
                        Id = p.Payload?.Fields.TryGetValue("id", out var id) == true && id.StringValue.Length > 0 ? id.StringValue : p.Id.ToText(),
                        Text = p.SourceText(),
                    }));
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
        var retrieved = sources.Select(s => s.Id).ToList();
        return new EvalReport.Result(
            item, retrieved, item.ExpectedSources.Any(retrieved.Contains), answer.ToString(), blocked,
            scores is { HasGroundedness: true } ? scores.Groundedness : null,
            scores is { HasAnswerRelevance: true } ? scores.AnswerRelevance : null,
            total, done?.Timings.TimeToFirstDeltaMs)
        {
            Sources = sources,
        };
    }

    private static string Show(double? value) => value is { } v ? v.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "-";
}
