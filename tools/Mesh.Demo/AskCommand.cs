using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Assistant.V1;
using Mesh.Inference.V1;
using ChatMessage = Mesh.Assistant.V1.ChatMessage;
using Role = Mesh.Assistant.V1.Role;
using Mesh.Retrieval.V1;

namespace Mesh.Demo;

/// <summary>
/// Asks the assistant through the gateway and prints the sources, the streamed answer and the
/// citations: over gRPC (<c>AssistantService/Ask</c>), or with <c>--http</c> through the OpenAI API
/// (<see cref="HttpAsk"/>), which carries the same events.
/// </summary>
internal static class AskCommand
{
    public static readonly IReadOnlySet<string> Flags = new HashSet<string> { "in-stock", "http" };

    public static async Task<int> RunAsync(Options options)
    {
        var question = options.Positional.Count == 1 ? options.Positional[0] : throw new ArgumentException("ask takes one question (quote it)");
        var request = new AskRequest
        {
            Model = options.Require("model"),
            Collection = options.Get("collection") ?? "demo",
            TopK = options.Int("top-k", 3),
            MaxTokens = options.Int("max-tokens", 64),
            Policy = options.Get("policy") ?? "",
            Messages = { new ChatMessage { Role = Role.User, Content = question } },
            Sampling = new SamplingParams { Temperature = 0.7f, Seed = (ulong)options.Int("seed", 42) },
            Filter = Filter(options),
        };

        Console.WriteLine(options.Flag("http") ? $"Q (OpenAI API, {options.HttpGateway}/v1/chat/completions): {question}" : $"Q (gRPC, {options.Gateway}): {question}");
        if (options.Flag("http"))
        {
            await PrintAsync(HttpAsk.StreamAsync(options, request));
            return 0;
        }

        using var channel = GrpcChannel.ForAddress(options.Gateway);
        var client = new AssistantService.AssistantServiceClient(channel);
        using var call = client.Ask(request, new Metadata { { "authorization", $"Bearer {options.ApiKey}" } }, DateTime.UtcNow.AddMinutes(2));
        await PrintAsync(call.ResponseStream.ReadAllAsync());
        return 0;
    }

    /// <summary>The retrieval filter the options ask for (--category, --in-stock, --max-price); null for none.</summary>
    private static Filter? Filter(Options options)
    {
        var filter = new Filter();
        if (options.Get("category") is { } category)
        {
            filter.Must.Add(new Condition { Field = new FieldCondition { Key = "category", Match = new MatchValue { Keyword = category } } });
        }

        if (options.Flag("in-stock"))
        {
            filter.Must.Add(new Condition { Field = new FieldCondition { Key = "in_stock", Match = new MatchValue { Boolean = true } } });
        }

        if (options.Get("max-price") is { } price)
        {
            filter.Must.Add(new Condition { Field = new FieldCondition { Key = "price", Range = new Mesh.Retrieval.V1.Range { Lte = double.Parse(price, CultureInfo.InvariantCulture) } } });
        }

        return filter.Must.Count > 0 ? filter : null;
    }

    private static async Task PrintAsync(IAsyncEnumerable<AskResponse> events)
    {
        List<ScoredPoint> sources = [];
        var answering = false;
        await foreach (var e in events)
        {
            switch (e.EventCase)
            {
                case AskResponse.EventOneofCase.Context:
                    sources = [.. e.Context.Points];
                    if (e.Context.QuestionRedactions.Count > 0)
                    {
                        Console.WriteLine($"redacted by the input guard ({string.Join(", ", e.Context.QuestionRedactions.Select(r => r.EntityType))}); the model sees: {e.Context.Question}");
                    }

                    Console.WriteLine("sources:");
                    for (var i = 0; i < sources.Count; i++)
                    {
                        Console.WriteLine($"  [{i + 1}] id {Id(sources[i].Id)}  score {sources[i].Score:F3}  {Describe(sources[i])}");
                    }

                    break;
                case AskResponse.EventOneofCase.Delta:
                    if (!answering)
                    {
                        Console.Write("A: ");
                        answering = true;
                    }

                    Console.Write(e.Delta);
                    break;
                case AskResponse.EventOneofCase.Blocked:
                    Console.WriteLine($"{(answering ? "\n" : "")}BLOCKED ({e.Blocked.Stage}): {e.Blocked.Message}");
                    return;
                case AskResponse.EventOneofCase.Done:
                    var done = e.Done;
                    var t = done.Timings;
                    Console.WriteLine();
                    Console.WriteLine($"citations: [{string.Join(", ", done.Citations.Select(Id))}]" +
                        (done.Citations.Count == 0 ? "  (the model named no source number)" : ""));
                    if (done.Redactions.Count > 0)
                    {
                        Console.WriteLine($"redacted in the answer: {string.Join(", ", done.Redactions.Select(r => r.EntityType))}");
                    }

                    Console.WriteLine($"done: {done.FinishReason}, {done.Usage.PromptTokens} prompt + {done.Usage.CompletionTokens} completion tokens; " +
                        $"ms: input guard {t.InputGuardMs:F1}, retrieval {t.RetrievalMs:F1}, prompt {t.PromptMs:F1}, " +
                        $"generation {t.GenerationMs:F1}, output guard {t.OutputGuardMs:F1}, total {t.TotalMs:F1}");
                    break;
            }
        }
    }

    private static string Id(PointId id) => id.KindCase == PointId.KindOneofCase.Num ? id.Num.ToString(CultureInfo.InvariantCulture) : id.Uuid;

    private static string Describe(ScoredPoint point)
    {
        var fields = point.Payload.Fields;
        var label = fields.TryGetValue("name", out var n) ? n.StringValue
            : fields.TryGetValue("title", out var t) ? t.StringValue
            : fields.TryGetValue("question", out var q) ? q.StringValue : "";
        var id = fields.TryGetValue("id", out var docId) ? docId.StringValue : "";
        return $"{id}: {label}";
    }
}
