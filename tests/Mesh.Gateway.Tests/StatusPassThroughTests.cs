using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Gateway.Tests.Infrastructure;
using GuardV1 = Mesh.Guard.V1;
using InferenceV1 = Mesh.Inference.V1;
using RetrievalV1 = Mesh.Retrieval.V1;

namespace Mesh.Gateway.Tests;

/// <summary>
/// A call the service fails reaches the caller through the gateway with exactly the service's status
/// and message: unary and streaming, metered and not, trailers-only responses (failed before any
/// message) and failures after messages were sent.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class StatusPassThroughTests(MeshFixture mesh)
{
    private static InferenceV1.GenerateRequest Generation(string model = "stories260K", int maxTokens = 4, float temperature = 0) => new()
    {
        Model = model,
        Prompt = "Once upon a time",
        MaxTokens = maxTokens,
        Sampling = new InferenceV1.SamplingParams { Temperature = temperature },
    };

    /// <summary>Failing calls, each run once directly and once through the gateway.</summary>
    public static TheoryData<string> Failures =>
    [
        "Complete unknown model",
        "Complete max_tokens -1",
        "Complete temperature -1",
        "Generate unknown model",
        "Generate max_tokens -1",
        "Generate temperature -1",
        "Tokenize unknown model",
        "Score unknown model",
        "Detokenize id out of range",
        "Search unknown collection",
        "Import unknown collection",
        "CheckStream unknown policy",
        "Check unknown policy",
    ];

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_failed_call_reaches_the_caller_with_the_services_status_and_message(string failure)
    {
        var call = Call(failure);
        using var direct = GrpcChannel.ForAddress(Address(failure));

        var directly = await Calls.FailureOf(() => call(direct, null));
        var throughGateway = await Calls.FailureOf(() => call(mesh.Channel, mesh.Admin.Metadata));

        Assert.NotEqual(StatusCode.OK, directly.StatusCode);
        Assert.NotEqual(StatusCode.Unknown, directly.StatusCode);
        Assert.Equal(directly.StatusCode, throughGateway.StatusCode);
        Assert.Equal(directly.Status.Detail, throughGateway.Status.Detail);
    }

    /// <summary>Trailers-only failures of the metered and unmetered methods, as raw HTTP/2 frames.</summary>
    public static TheoryData<string> TrailersOnly => ["Generate", "Complete", "Tokenize", "Score", "Detokenize"];

    [Theory]
    [MemberData(nameof(TrailersOnly))]
    public async Task A_call_failed_before_any_message_ends_as_one_headers_frame_with_end_stream(string method)
    {
        // model "no-such-model": field 1 of every Inference request.
        var body = Mesh.Gateway.GrpcWire.GrpcFrame.Encode(new InferenceV1.TokenizeRequest { Model = "no-such-model" }.ToByteArray());
        (string, string)[] headers = [("content-type", "application/grpc"), ("te", "trailers"), ("authorization", $"Bearer {mesh.Admin.Secret}")];
        var path = $"/mesh.inference.v1.InferenceService/{method}";

        var direct = await RawHttp2.ExchangeAsync(mesh.Inference.Address, path, body, headers, TimeSpan.FromSeconds(30));
        var throughGateway = await RawHttp2.ExchangeAsync(mesh.Gateway.Address, path, body, headers, TimeSpan.FromSeconds(30));

        // What grpc-core and grpc-js read as a status: a single HEADERS frame that ends the stream.
        var expected = new[] { (RawHttp2.Headers, (byte)(RawHttp2.EndHeaders | RawHttp2.EndStream)) };
        Assert.Equal(expected, direct.Select(f => (f.Type, f.Flags)));
        Assert.Equal(expected, throughGateway.Select(f => (f.Type, f.Flags)));
    }

    [Fact]
    public async Task A_stream_that_fails_after_sending_messages_keeps_its_messages_and_its_status()
    {
        var retrieval = new RetrievalV1.RetrievalService.RetrievalServiceClient(mesh.Channel);
        var name = "pass-through-" + Guid.NewGuid().ToString("N")[..8];
        await retrieval.CreateCollectionAsync(new RetrievalV1.CreateCollectionRequest { Name = name, Dimensions = 2, Metric = RetrievalV1.Metric.L2 }, mesh.Admin.Metadata);

        var progress = new List<RetrievalV1.ImportProgress>();
        var failure = await Calls.FailureOf(async () =>
        {
            using var import = retrieval.Import(mesh.Admin.Metadata);
            await import.RequestStream.WriteAsync(Batch(name, [1f, 2f]));
            Assert.True(await import.ResponseStream.MoveNext(CancellationToken.None));
            progress.Add(import.ResponseStream.Current);
            await import.RequestStream.WriteAsync(Batch(name, [1f, 2f, 3f])); // wrong dimension
            while (await import.ResponseStream.MoveNext(CancellationToken.None))
            {
                progress.Add(import.ResponseStream.Current);
            }
        });

        Assert.Equal(1UL, Assert.Single(progress).PointsImported);
        Assert.Equal(StatusCode.InvalidArgument, failure.StatusCode);
        Assert.Contains("dimension", failure.Status.Detail, StringComparison.OrdinalIgnoreCase);
    }

    private static RetrievalV1.ImportRequest Batch(string collection, float[] vector)
    {
        var point = new RetrievalV1.PointStruct { Id = new RetrievalV1.PointId { Num = (ulong)vector.Length }, Vector = new RetrievalV1.Vector() };
        point.Vector.Values.AddRange(vector);
        return new RetrievalV1.ImportRequest { Collection = collection, Points = { point } };
    }

    private Uri Address(string failure) => failure.Split(' ')[0] switch
    {
        "Search" or "Import" => mesh.Retrieval.Address,
        "Check" or "CheckStream" => mesh.Guard.Address,
        _ => mesh.Inference.Address,
    };

    private static Func<GrpcChannel, Metadata?, Task> Call(string failure) => failure switch
    {
        "Complete unknown model" => (c, m) => Inference(c).CompleteAsync(Generation(model: "no-such-model"), m).ResponseAsync,
        "Complete max_tokens -1" => (c, m) => Inference(c).CompleteAsync(Generation(maxTokens: -1), m).ResponseAsync,
        "Complete temperature -1" => (c, m) => Inference(c).CompleteAsync(Generation(temperature: -1), m).ResponseAsync,
        "Generate unknown model" => (c, m) => Drain(Inference(c).Generate(Generation(model: "no-such-model"), m)),
        "Generate max_tokens -1" => (c, m) => Drain(Inference(c).Generate(Generation(maxTokens: -1), m)),
        "Generate temperature -1" => (c, m) => Drain(Inference(c).Generate(Generation(temperature: -1), m)),
        "Tokenize unknown model" => (c, m) => Inference(c).TokenizeAsync(new InferenceV1.TokenizeRequest { Model = "no-such-model", Text = "hi" }, m).ResponseAsync,
        "Score unknown model" => (c, m) => Inference(c).ScoreAsync(new InferenceV1.ScoreRequest { Model = "no-such-model", Text = "hi there" }, m).ResponseAsync,
        "Detokenize id out of range" => (c, m) => Inference(c).DetokenizeAsync(new InferenceV1.DetokenizeRequest { Model = "stories260K", TokenIds = { 1_000_000 } }, m).ResponseAsync,
        "Search unknown collection" => (c, m) => new RetrievalV1.RetrievalService.RetrievalServiceClient(c)
            .SearchAsync(new RetrievalV1.SearchRequest { Collection = "no-such-collection", Vector = new RetrievalV1.Vector { Values = { 1f, 2f } }, Limit = 1 }, m).ResponseAsync,
        "Import unknown collection" => async (c, m) =>
        {
            using var import = new RetrievalV1.RetrievalService.RetrievalServiceClient(c).Import(m);
            await import.RequestStream.WriteAsync(Batch("no-such-collection", [1f, 2f]));
            await import.RequestStream.CompleteAsync();
            await Drain(import.ResponseStream);
        },
        "CheckStream unknown policy" => async (c, m) =>
        {
            using var check = new GuardV1.GuardService.GuardServiceClient(c).CheckStream(m);
            await check.RequestStream.WriteAsync(new GuardV1.CheckStreamRequest { Policy = "no-such-policy", Chunk = "hello" });
            await check.RequestStream.CompleteAsync();
            await Drain(check.ResponseStream);
        },
        "Check unknown policy" => (c, m) => new GuardV1.GuardService.GuardServiceClient(c)
            .CheckAsync(new GuardV1.CheckRequest { Policy = "no-such-policy", Text = "hello" }, m).ResponseAsync,
        _ => throw new ArgumentOutOfRangeException(nameof(failure)),
    };

    private static InferenceV1.InferenceService.InferenceServiceClient Inference(GrpcChannel channel) => new(channel);

    private static Task Drain<T>(AsyncServerStreamingCall<T> call) => DrainAndDispose(call);

    private static async Task DrainAndDispose<T>(AsyncServerStreamingCall<T> call)
    {
        using (call)
        {
            await Drain(call.ResponseStream);
        }
    }

    private static async Task Drain<T>(IAsyncStreamReader<T> stream)
    {
        while (await stream.MoveNext(CancellationToken.None))
        {
        }
    }
}
