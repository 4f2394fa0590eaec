using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Mesh.Retrieval.Collections;
using Mesh.Retrieval.Embedding;
using Mesh.Retrieval.Services;
using Mesh.Retrieval.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Retrieval.Tests;

/// <summary>
/// Hybrid retrieval over gRPC (issue 14): BM25 beside the MiniLM vectors, fused by reciprocal rank fusion,
/// so a query naming a SKU finds it where dense search does not; the BM25 index survives restarts.
/// </summary>
public sealed class HybridSearchTests
{
    // Twenty near-identical trail shoes: only the SKU tells them apart, and MiniLM cannot read SKUs.
    private static readonly string[] Colours = ["red", "blue", "green", "black", "white", "grey", "orange", "yellow", "purple", "navy"];

    private static async Task CreateCatalogueAsync(RetrievalService.RetrievalServiceClient client, string name = "catalogue")
    {
        await client.CreateCollectionAsync(new CreateCollectionRequest
        {
            Name = name, Metric = Metric.Cosine, Embedder = MiniLmTextEmbedder.ModelName,
            PayloadIndexes = { new V1.PayloadIndex { Field = "in_stock", Kind = PayloadIndexKind.Keyword } },
            Bm25 = new Bm25Params { TextFields = { "sku", "name" } },
        });
        var upsert = new UpsertRequest { Collection = name };
        for (var i = 0; i < 20; i++)
        {
            upsert.Points.Add(new PointStruct
            {
                Id = new PointId { Num = (ulong)(1030 + i) },
                Text = $"Lightweight {Colours[i % 10]} trail running shoe with a grippy outsole.",
                Payload = new Struct
                {
                    Fields =
                    {
                        ["sku"] = Value.ForString($"SKU-{1030 + i}"),
                        ["name"] = Value.ForString($"Trailrunner {Colours[i % 10]}"),
                        ["in_stock"] = Value.ForBool(i % 2 == 0),
                    },
                },
            });
        }
        await client.UpsertAsync(upsert);
    }

    [Fact]
    public async Task A_sku_query_that_dense_search_misses_is_found_first_by_hybrid_and_sparse()
    {
        await using var server = await RetrievalServer.StartAsync();
        await CreateCatalogueAsync(server.Client);

        var dense = await server.Client.SearchAsync(new SearchRequest { Collection = "catalogue", Text = "SKU-1042", Limit = 3, Mode = SearchMode.Dense });
        Assert.DoesNotContain(1042UL, dense.Points.Select(p => p.Id.Num));

        var hybrid = await server.Client.SearchAsync(new SearchRequest { Collection = "catalogue", Text = "SKU-1042", Limit = 3, Mode = SearchMode.Hybrid, WithPayload = true });
        Assert.Equal(1042UL, hybrid.Points[0].Id.Num);
        Assert.Equal("SKU-1042", hybrid.Points[0].Payload.Fields["sku"].StringValue);
        // First in BM25 and somewhere in the dense list: above 1 / (60 + 1), at most 2 / (60 + 1).
        Assert.InRange(hybrid.Points[0].Score, 1f / 61, 2f / 61 + 1e-6f);

        var sparse = await server.Client.SearchAsync(new SearchRequest { Collection = "catalogue", Text = "sku-1042", Limit = 3, Mode = SearchMode.Sparse });
        Assert.Equal(1042UL, sparse.Points[0].Id.Num);

        // A vector query names its BM25 text in sparse_text.
        var vector = (await server.Client.EmbedAsync(new EmbedRequest { Texts = { "trail shoe" } })).Vectors[0];
        var byVector = await server.Client.SearchAsync(new SearchRequest { Collection = "catalogue", Vector = vector, SparseText = "SKU-1042", Limit = 3, Mode = SearchMode.Hybrid });
        Assert.Equal(1042UL, byVector.Points[0].Id.Num);
    }

    [Fact]
    public async Task Filters_apply_to_both_sides_of_a_hybrid_search()
    {
        await using var server = await RetrievalServer.StartAsync();
        await CreateCatalogueAsync(server.Client);
        var inStock = new Filter { Must = { new Condition { Field = new FieldCondition { Key = "in_stock", Match = new MatchValue { Boolean = true } } } } };

        // 1043 is out of stock: neither the BM25 side nor the dense side may return it.
        var hybrid = await server.Client.SearchAsync(new SearchRequest { Collection = "catalogue", Text = "SKU-1043", Limit = 20, Mode = SearchMode.Hybrid, Filter = inStock });
        Assert.Equal(10, hybrid.Points.Count);
        Assert.All(hybrid.Points, p => Assert.True((p.Id.Num - 1030) % 2 == 0));
        var sparse = await server.Client.SearchAsync(new SearchRequest { Collection = "catalogue", Text = "SKU-1043", Limit = 20, Mode = SearchMode.Sparse, Filter = inStock });
        Assert.DoesNotContain(1043UL, sparse.Points.Select(p => p.Id.Num));
    }

    [Fact]
    public async Task Sparse_and_hybrid_searches_need_a_bm25_collection_and_a_text()
    {
        await using var server = await RetrievalServer.StartAsync();
        await server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = "plain", Dimensions = 4, Metric = Metric.Cosine });
        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.SearchAsync(new SearchRequest
        {
            Collection = "plain", Vector = new Vector { Values = { 1, 0, 0, 0 } }, SparseText = "x", Limit = 1, Mode = SearchMode.Hybrid,
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("bm25", error.Status.Detail);

        await server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = "sparse", Dimensions = 4, Metric = Metric.Cosine, Bm25 = new Bm25Params() });
        error = await Assert.ThrowsAsync<RpcException>(() => server.Client.SearchAsync(new SearchRequest
        {
            Collection = "sparse", Vector = new Vector { Values = { 1, 0, 0, 0 } }, Limit = 1, Mode = SearchMode.Sparse,
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("sparse_text", error.Status.Detail);

        // Without a mode, sparse_text beside a vector is a hybrid search where the collection has bm25,
        // and a mistake (a dense search has no use for it) where it has not.
        Assert.Empty((await server.Client.SearchAsync(new SearchRequest
        {
            Collection = "sparse", Vector = new Vector { Values = { 1, 0, 0, 0 } }, SparseText = "x", Limit = 1,
        })).Points);
        error = await Assert.ThrowsAsync<RpcException>(() => server.Client.SearchAsync(new SearchRequest
        {
            Collection = "plain", Vector = new Vector { Values = { 1, 0, 0, 0 } }, SparseText = "x", Limit = 1,
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);

        // A sparse search with a text needs no embedder; a collection without one still answers it.
        var info = await server.Client.DescribeCollectionAsync(new DescribeCollectionRequest { Name = "sparse" });
        Assert.Equal(1.2f, info.Bm25.K1);
        Assert.Empty((await server.Client.SearchAsync(new SearchRequest { Collection = "sparse", Text = "nothing", Limit = 1, Mode = SearchMode.Sparse })).Points);
    }

    [Fact]
    public async Task Bm25_results_are_identical_after_a_restart_from_the_snapshot()
    {
        var dataPath = Path.Combine(Path.GetTempPath(), "mesh-retrieval-tests", Guid.NewGuid().ToString("N"));
        try
        {
            string[] before;
            await using (var server = await RetrievalServer.StartAsync(dataPath))
            {
                await CreateCatalogueAsync(server.Client);
                await server.Client.DeleteAsync(new DeleteRequest { Collection = "catalogue", Ids = new PointIdList { Ids = { new PointId { Num = 1031 } } } });
                await server.Client.SetPayloadAsync(new SetPayloadRequest
                {
                    Collection = "catalogue", Ids = new PointIdList { Ids = { new PointId { Num = 1044 } } },
                    Payload = new Struct { Fields = { ["sku"] = Value.ForString("SKU-9999") } },
                });
                before = await SearchAllAsync(server.Client);
            }
            await using (var server = await RetrievalServer.StartAsync(dataPath))
            {
                Assert.Equal(before, await SearchAllAsync(server.Client));
            }
        }
        finally
        {
            Directory.Delete(dataPath, recursive: true);
        }
    }

    [Fact]
    public async Task Bm25_results_are_identical_after_replaying_the_log_without_a_snapshot()
    {
        var folder = Path.Combine(Path.GetTempPath(), "mesh-retrieval-tests", Guid.NewGuid().ToString("N"));
        var options = new RetrievalOptions { IndexConcurrency = 2 };
        var embedders = new Dictionary<string, ITextEmbedder>();
        var config = CollectionConfig.Normalize(CollectionConfigMapping.ToConfig(new CreateCollectionRequest { Name = "log", Dimensions = 4, Metric = Metric.Cosine, Bm25 = new Bm25Params { TextFields = { "sku" } } }), embedders);
        try
        {
            List<(PointKey, float)> before;
            using (var collection = Collection.Create(folder, "default", config, options, new SnapshotHooks(), NullLogger.Instance))
            {
                await collection.UpsertAsync([.. Enumerable.Range(0, 30).Select(i => (new PointKey((ulong)i, null), new float[] { 1, i, 0, 1 },
                    new Struct { Fields = { ["sku"] = Value.ForString($"SKU-{i % 7}") } }, $"item number {i} of the log test"))], CancellationToken.None);
                await collection.DeleteAsync([new PointKey(3, null)], null, CancellationToken.None);
                await collection.SetPayloadAsync([new PointKey(4, null)], null, new Struct { Fields = { ["sku"] = Value.ForString("SKU-5") } }, false, 65536, CancellationToken.None);
                before = Sparse(collection);
                Assert.Contains(before, h => h.Item1 == new PointKey(4, null));
                Assert.DoesNotContain(before, h => h.Item1 == new PointKey(3, null));
            } // closed without a snapshot: the reopened collection replays every record
            using (var collection = Collection.Open(folder, options, embedders, new SnapshotHooks(), NullLogger.Instance))
            {
                Assert.Equal(before, Sparse(collection));
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        static List<(PointKey, float)> Sparse(Collection collection) =>
            [.. collection.Search(new SearchQuery(QueryMode.Sparse, null, "sku-5 item 12", 10, null, 0, false, null)).Select(h => (h.Point.Id, h.Score))];
    }

    private static async Task<string[]> SearchAllAsync(RetrievalService.RetrievalServiceClient client)
    {
        var results = new List<string>();
        foreach (var (text, mode) in new[] { ("SKU-1042", SearchMode.Sparse), ("SKU-9999 trail", SearchMode.Sparse), ("SKU-1031 red", SearchMode.Hybrid), ("shoe", SearchMode.Hybrid) })
        {
            var response = await client.SearchAsync(new SearchRequest { Collection = "catalogue", Text = text, Limit = 10, Mode = mode });
            results.Add(string.Join(",", response.Points.Select(p => $"{p.Id.Num}:{p.Score:R}")));
        }
        return [.. results];
    }

    [Fact]
    public async Task Without_a_mode_a_collection_with_bm25_answers_a_text_by_hybrid_search_and_one_without_by_dense()
    {
        await using var server = await RetrievalServer.StartAsync();
        await CreateCatalogueAsync(server.Client);
        var unspecified = await server.Client.SearchAsync(new SearchRequest { Collection = "catalogue", Text = "SKU-1042", Limit = 3 });
        var hybrid = await server.Client.SearchAsync(new SearchRequest { Collection = "catalogue", Text = "SKU-1042", Limit = 3, Mode = SearchMode.Hybrid });
        Assert.Equal(1042UL, unspecified.Points[0].Id.Num);
        Assert.Equal(hybrid.Points.Select(p => (p.Id.Num, p.Score)), unspecified.Points.Select(p => (p.Id.Num, p.Score)));

        // A vector query without sparse_text has nothing for BM25 to read: dense, as before modes existed.
        var vector = (await server.Client.EmbedAsync(new EmbedRequest { Texts = { "SKU-1042" } })).Vectors[0];
        var byVector = await server.Client.SearchAsync(new SearchRequest { Collection = "catalogue", Vector = vector, Limit = 3 });
        var dense = await server.Client.SearchAsync(new SearchRequest { Collection = "catalogue", Text = "SKU-1042", Limit = 3, Mode = SearchMode.Dense });
        Assert.Equal(dense.Points.Select(p => p.Id.Num), byVector.Points.Select(p => p.Id.Num));
    }
}
