using System.Buffers.Binary;
using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using Mesh.Gateway.Tests.Infrastructure;
using Mesh.Guard;
using Mesh.Inference;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tokenization;
using Mesh.Inference.V1;
using Mesh.Retrieval;
using Mesh.Retrieval.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mesh.Gateway.Tests.Assistant;

/// <summary>
/// Real Guard, Retrieval and Inference hosts behind a real gateway, with a small shop collection
/// loaded through the gateway under the test key's tenant; Guard's judge model is stories260K on the
/// same Inference host. Inference serves stories260K with the llama2
/// chat template (and <see cref="ChatMlModel"/>) and records every prompt it receives (Generate's text, Chat's messages), so tests can
/// assert what the model saw.
/// </summary>
public sealed class AssistantFixture : IAsyncLifetime
{
    public const string Collection = "shop";
    public const string Model = "stories260K";

    /// <summary>The chat template Inference renders the assistant's conversation with.</summary>
    public const string ChatTemplate = "llama2";

    /// <summary>
    /// A second model: stories260K whose last two pieces are ChatML's <c>&lt;|im_start|&gt;</c> and
    /// <c>&lt;|im_end|&gt;</c> as control tokens, with the ChatML template, as Qwen-style vocabularies
    /// have them: special-token text in content is a real threat to it.
    /// </summary>
    public const string ChatMlModel = "stories260K-chatml";

    /// <summary>The control token ids of <see cref="ChatMlModel"/>'s <c>&lt;|im_start|&gt;</c> and <c>&lt;|im_end|&gt;</c>.</summary>
    public const int ImStartId = 510, ImEndId = 511;

    /// <summary>The documents of the collection: id, category, in_stock, text.</summary>
    public static readonly (ulong Id, string Category, bool InStock, string Text)[] Documents =
    [
        (1, "footwear", true, "Trailrunner 2 Running Shoe: lightweight trail running shoe. Price $119."),
        (2, "footwear", false, "Summit Hiking Boot: waterproof leather hiking boot. Out of stock."),
        (3, "camping", true, "Ridgeline 2 Tent: two-person backpacking tent, 1.6 kg. Price $249."),
        (4, "policy", true, "Returns: unworn items can be returned within 30 days of delivery for a full refund."),
        (5, "policy", true, "Shipping: standard shipping takes 3 to 5 business days and is free over $50."),
    ];

    private readonly string _directory = Directory.CreateTempSubdirectory("mesh-assistant-").FullName;
    private readonly ConcurrentQueue<string> _prompts = new();
    private readonly ConcurrentQueue<ChatRequest> _chats = new();

    public TestKey Key { get; } = new("shop", "retail", ["*"], ["*"]);

    public ServiceReplica Inference { get; private set; } = null!;
    public ServiceReplica Retrieval { get; private set; } = null!;
    public ServiceReplica Guard { get; private set; } = null!;
    public GatewayUnderTest Gateway { get; private set; } = null!;

    /// <summary>
    /// Every prompt Inference received, in arrival order: a GenerateRequest's prompt, or a ChatRequest's
    /// messages as <c>role: content</c> lines.
    /// </summary>
    public IReadOnlyCollection<string> Prompts => _prompts;

    /// <summary>Every ChatRequest Inference received, in arrival order.</summary>
    public IReadOnlyCollection<ChatRequest> Chats => _chats;

    /// <summary>How many Tokenize calls reached Inference.</summary>
    public int TokenizeCalls => Volatile.Read(ref _tokenizeCalls);

    private int _tokenizeCalls;

    public async Task InitializeAsync()
    {
        Inference = await ServiceReplica.StartAsync(RecordingPrompts(InferenceHost.CreateApp), 0,
        [
            .. MeshFixture.InferenceArgs, $"--Inference:Models:0:ChatTemplate={ChatTemplate}",
            $"--Inference:Models:1:Id={ChatMlModel}", $"--Inference:Models:1:Path={WriteChatMlModel()}", "--Inference:Models:1:ChatTemplate=chatml",
        ]);
        Retrieval = await ServiceReplica.StartAsync(RetrievalHost.CreateApp, 0, MeshFixture.RetrievalArgs());
        // Guard's judge (QualityService/Evaluate, for `eval --judge`) is the same Inference host, with
        // limits that fit stories260K's 512-token context.
        Guard = await ServiceReplica.StartAsync(GuardHost.CreateApp, 0,
            $"--Guard:Judge:Endpoint={Inference.Address}", $"--Guard:Judge:Model={Model}", "--Guard:Judge:MaxTokens=64", "--Guard:Judge:MaxReasonChars=40");
        Gateway = await GatewayUnderTest.StartAsync(
            new Dictionary<string, IReadOnlyList<Uri>>
            {
                ["inference"] = [Inference.Address],
                ["retrieval"] = [Retrieval.Address],
                ["guard"] = [Guard.Address],
            },
            [Key]);

        var retrieval = new RetrievalService.RetrievalServiceClient(Gateway.Channel);
        await retrieval.CreateCollectionAsync(new CreateCollectionRequest
        {
            Name = Collection,
            Metric = Metric.Cosine,
            Embedder = "all-MiniLM-L6-v2",
            PayloadIndexes =
            {
                new PayloadIndex { Field = "category", Kind = PayloadIndexKind.Keyword },
                new PayloadIndex { Field = "in_stock", Kind = PayloadIndexKind.Keyword },
            },
        }, Key.Metadata);
        var upsert = new UpsertRequest { Collection = Collection };
        foreach (var (id, category, inStock, text) in Documents)
        {
            var payload = new Struct();
            payload.Fields["category"] = Value.ForString(category);
            payload.Fields["in_stock"] = Value.ForBool(inStock);
            payload.Fields["text"] = Value.ForString(text);
            upsert.Points.Add(new PointStruct { Id = new PointId { Num = id }, Text = text, Payload = payload });
        }

        await retrieval.UpsertAsync(upsert, Key.Metadata);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Inference.DisposeAsync();
        await Retrieval.DisposeAsync();
        await Guard.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private string WriteChatMlModel()
    {
        var path = Path.Combine(_directory, "stories260K-chatml.gguf");
        using var model = LlamaModel.Load(RepoPaths.Stories260K);
        var vocabulary = ((SentencePieceTokenizer)model.Tokenizer).Vocabulary;
        var pieces = vocabulary.Pieces.ToArray();
        var kinds = vocabulary.Kinds.ToArray();
        (pieces[ImStartId], pieces[ImEndId]) = ("<|im_start|>", "<|im_end|>");
        kinds[ImStartId] = kinds[ImEndId] = TokenKind.Control;
        LlamaGgufExporter.Write(path, model.Config, model.Weights, vocabulary with { Pieces = pieces, Kinds = kinds }, GgmlType.F32, ChatMlModel);
        return path;
    }

    /// <summary>Wraps a host's factory with a middleware that reads each Generate and Chat request message and keeps its prompt.</summary>
    private Func<string[], WebApplication> RecordingPrompts(Func<string[], WebApplication> createApp) => args =>
    {
        var app = createApp(args);
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? "";
            if (path.EndsWith("/mesh.inference.v1.InferenceService/Tokenize", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _tokenizeCalls);
            }

            var chat = path.EndsWith("/mesh.inference.v1.InferenceService/Chat", StringComparison.Ordinal);
            if (chat || path.EndsWith("/Generate", StringComparison.Ordinal))
            {
                context.Request.EnableBuffering();
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body, context.RequestAborted);
                context.Request.Body.Position = 0;
                var bytes = body.ToArray();
                // One gRPC frame: compressed flag, 4-byte big-endian length, the message.
                if (bytes.Length >= 5 && bytes[0] == 0)
                {
                    var length = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(1, 4));
                    if (chat)
                    {
                        var request = ChatRequest.Parser.ParseFrom(bytes, 5, length);
                        _chats.Enqueue(request);
                        _prompts.Enqueue(string.Join("\n", request.Messages.Select(m => $"{m.Role}: {m.Content}")));
                    }
                    else
                    {
                        _prompts.Enqueue(GenerateRequest.Parser.ParseFrom(bytes, 5, length).Prompt);
                    }
                }
            }

            await next(context);
        });
        return app;
    };
}

[CollectionDefinition(Name)]
public sealed class AssistantCollection : ICollectionFixture<AssistantFixture>
{
    public const string Name = "assistant";
}
