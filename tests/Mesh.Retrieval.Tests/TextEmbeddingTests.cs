using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>Collections with the built-in all-MiniLM-L6-v2 embedder take texts for upserts and queries.</summary>
public sealed class TextEmbeddingTests
{
    [Fact]
    public async Task Text_upserts_and_text_queries_find_the_semantically_closest_point()
    {
        await using var server = await RetrievalServer.StartAsync();
        var info = await server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = "faq", Metric = Metric.Cosine, Embedder = "all-MiniLM-L6-v2" });
        Assert.Equal(384U, info.Dimensions);
        string[] answers =
        [
            "You can return any item within 30 days for a full refund.",
            "Shipping to Europe takes five to seven business days.",
            "Our support team is available by phone on weekdays.",
            "The espresso machine needs descaling every two months.",
        ];
        await server.Client.UpsertAsync(new UpsertRequest
        {
            Collection = "faq",
            Points = { answers.Select((a, i) => new PointStruct { Id = new PointId { Num = (ulong)i }, Text = a }) },
        });
        var hits = await server.Client.SearchAsync(new SearchRequest { Collection = "faq", Text = "how long does delivery to France take?", Limit = 2 });
        Assert.Equal(1UL, hits.Points[0].Id.Num);
        hits = await server.Client.SearchAsync(new SearchRequest { Collection = "faq", Text = "can I get my money back?", Limit = 1 });
        Assert.Equal(0UL, hits.Points[0].Id.Num);
    }
}
