using Grpc.Core;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>The Embed RPC: the built-in embedder's vectors, as a text upsert stores them, with bounded inputs.</summary>
public sealed class EmbedTests
{
    [Fact]
    public async Task Embed_returns_the_vectors_a_text_upsert_stores_and_counts_tokens()
    {
        await using var server = await RetrievalServer.StartAsync();
        string[] texts = ["Return any item within 30 days.", "hello world"];
        var embedded = await server.Client.EmbedAsync(new EmbedRequest { Texts = { texts } });
        Assert.Equal("all-MiniLM-L6-v2", embedded.Model);
        Assert.Equal(2, embedded.Vectors.Count);
        Assert.All(embedded.Vectors, v => Assert.Equal(384, v.Values.Count));
        Assert.All(embedded.Vectors, v => Assert.Equal(1.0, Math.Sqrt(v.Values.Sum(x => (double)x * x)), 3));

        await server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = "t", Metric = Metric.Cosine, Embedder = "all-MiniLM-L6-v2" });
        await server.Client.UpsertAsync(new UpsertRequest { Collection = "t", Points = { new PointStruct { Id = new PointId { Num = 1 }, Text = texts[0] } } });
        var stored = await server.Client.GetAsync(new GetRequest { Collection = "t", Ids = { new PointId { Num = 1 } }, WithVector = true });
        Assert.Equal(embedded.Vectors[0].Values, stored.Points[0].Vector.Values);

        // "hello world" is [CLS] hello world [SEP]: 4 WordPiece ids.
        var single = await server.Client.EmbedAsync(new EmbedRequest { Model = "all-MiniLM-L6-v2", Texts = { "hello world" } });
        Assert.Equal(4UL, single.PromptTokens);
        Assert.True(embedded.PromptTokens > 4);

        // The longest text allowed (8,192 characters, ~1,640 WordPiece tokens) is past the model's 512 positions:
        // it still embeds.
        var longest = await server.Client.EmbedAsync(new EmbedRequest { Texts = { string.Join(" ", Enumerable.Repeat("word", 1638)) } });
        Assert.Equal(384, longest.Vectors[0].Values.Count);
        Assert.All(longest.Vectors[0].Values, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public async Task Embed_refuses_unknown_models_and_inputs_over_the_limits()
    {
        await using var server = await RetrievalServer.StartAsync();
        await Refused(new EmbedRequest { Model = "text-embedding-3-small", Texts = { "x" } }, "model");
        await Refused(new EmbedRequest(), "texts");
        await Refused(new EmbedRequest { Texts = { Enumerable.Repeat("x", 257) } }, "texts");
        await Refused(new EmbedRequest { Texts = { "ok", "" } }, "texts[1]");
        await Refused(new EmbedRequest { Texts = { new string('a', 8193) } }, "texts[0]");

        async Task Refused(EmbedRequest request, string field)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.EmbedAsync(request).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.StartsWith(field, error.Status.Detail);
        }
    }
}
