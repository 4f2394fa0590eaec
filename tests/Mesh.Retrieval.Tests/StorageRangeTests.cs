using Grpc.Core;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>
/// Lossy storage never yields NaN or infinite scores (issue 10, item 4): under cosine every vector is
/// normalised before it is narrowed to f16/f32, so very long and very short vectors score like any other;
/// under L2 and inner product a value the storage cannot hold is refused, naming the point and component.
/// </summary>
public sealed class StorageRangeTests : IAsyncLifetime
{
    private RetrievalServer _server = null!;

    public async Task InitializeAsync() => _server = await RetrievalServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData(V1.Storage.F16)]
    [InlineData(V1.Storage.F32)]
    [InlineData(V1.Storage.Unspecified)] // the default, f16: the reported case
    public async Task Cosine_scores_of_very_long_and_very_short_vectors_are_finite_and_exact(V1.Storage storage)
    {
        var name = $"cos{(int)storage}";
        await _server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = name, Dimensions = 4, Metric = Metric.Cosine, Storage = storage });
        await _server.Client.UpsertAsync(new UpsertRequest
        {
            Collection = name,
            Points = { TestData.Point(1, [1, 0, 0, 0]), TestData.Point(2, [0, 1, 0, 0]), TestData.Point(3, [100000, 0, 0, 0]), TestData.Point(4, [0, 1e-30f, 0, 0]), TestData.Point(5, [0, 0, 3e38f, 0]) },
        });
        foreach (var query in new float[][] { [1, 0, 0, 0], [100000, 0, 0, 0], [1e-30f, 0, 0, 0], [3e38f, 0, 0, 0] })
        {
            foreach (var exact in new[] { false, true })
            {
                var hits = (await _server.Client.SearchAsync(new SearchRequest
                {
                    Collection = name, Vector = new Vector { Values = { query } }, Limit = 5, Params = new SearchParams { Exact = exact },
                })).Points;
                Assert.All(hits, h => Assert.True(float.IsFinite(h.Score), $"query {query[0]}, exact {exact}: point {h.Id.Num} scored {h.Score}"));
                Assert.Equal(5, hits.Count);
                Assert.Equal([1UL, 3UL], hits.Take(2).Select(h => h.Id.Num).Order());
                Assert.All(hits.Take(2), h => Assert.Equal(1, h.Score, 0.002));
                Assert.All(hits.Skip(2), h => Assert.Equal(0, h.Score, 0.002));
            }
        }
        // The stored vector is the one sent, not the normalised copy the index holds.
        var got = await _server.Client.GetAsync(new GetRequest { Collection = name, Ids = { new PointId { Num = 3 } }, WithVector = true });
        Assert.Equal([100000f, 0, 0, 0], got.Points[0].Vector.Values);
    }

    [Theory]
    [InlineData(Metric.L2, V1.Storage.F16, 100000f, 65504f)]
    [InlineData(Metric.InnerProduct, V1.Storage.F16, 100000f, 65504f)]
    [InlineData(Metric.L2, V1.Storage.F32, 1e20f, 1e17f)]
    [InlineData(Metric.InnerProduct, V1.Storage.F32, 1e20f, 1e17f)]
    public async Task L2_and_inner_product_refuse_what_the_storage_cannot_hold_and_score_the_rest_finitely(Metric metric, V1.Storage storage, float tooLarge, float largest)
    {
        var name = $"m{(int)metric}s{(int)storage}";
        await _server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = name, Dimensions = 4, Metric = metric, Storage = storage });

        var error = await Assert.ThrowsAsync<RpcException>(() => _server.Client.UpsertAsync(new UpsertRequest
        {
            Collection = name, Points = { TestData.Point(1, [1, 0, 0, 0]), TestData.Point(2, [0, 1, 0, 0]), TestData.Point(3, [0, 0, -tooLarge, 0]) },
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("points[2].vector (id 3)", error.Status.Detail);
        Assert.Contains("component 2", error.Status.Detail);
        Assert.Equal(0UL, (await _server.Client.DescribeCollectionAsync(new DescribeCollectionRequest { Name = name })).PointsCount);

        error = await Assert.ThrowsAsync<RpcException>(() => _server.Client.SearchAsync(new SearchRequest
        {
            Collection = name, Vector = new Vector { Values = { tooLarge, 0, 0, 0 } }, Limit = 3,
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("component 0", error.Status.Detail);

        // The extremes the storage holds give finite scores, in the graph and in exact search.
        await _server.Client.UpsertAsync(new UpsertRequest
        {
            Collection = name,
            Points = { TestData.Point(1, [largest, largest, largest, largest]), TestData.Point(2, [-largest, -largest, -largest, -largest]), TestData.Point(3, [1, 0, 0, 0]) },
        });
        foreach (var exact in new[] { false, true })
        {
            var hits = (await _server.Client.SearchAsync(new SearchRequest
            {
                Collection = name, Vector = new Vector { Values = { -largest, -largest, -largest, -largest } }, Limit = 3, Params = new SearchParams { Exact = exact },
            })).Points;
            Assert.Equal(3, hits.Count);
            Assert.All(hits, h => Assert.True(float.IsFinite(h.Score), $"exact {exact}: point {h.Id.Num} scored {h.Score}"));
            Assert.Equal(2UL, hits[0].Id.Num); // the query itself: best under L2 and under inner product
        }
    }
}
