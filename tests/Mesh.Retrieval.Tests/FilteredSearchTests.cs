using Google.Protobuf.WellKnownTypes;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>
/// Filtered search must return the top-k among the matching points, not a post-filtered shorter list.
/// 6,000 random points; "shard" splits them 1% per value, "group" 10%, "price" is a number.
/// The exact-search threshold is lowered to 150 so that 1% filters take the exact path and 10% filters
/// walk the graph with the filter inside.
/// </summary>
public sealed class FilteredSearchTests : IAsyncLifetime
{
    private const int Points = 6000;
    private const int Dimensions = 24;
    private const int K = 10;
    private readonly float[][] _vectors = TestData.RandomVectors(Points, Dimensions, seed: 7);
    private readonly float[][] _queries = TestData.RandomVectors(25, Dimensions, seed: 8);
    private RetrievalServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await RetrievalServer.StartAsync(null, "--Retrieval:ExactSearchThreshold=150");
        await _server.Client.CreateCollectionAsync(new CreateCollectionRequest
        {
            Name = "items",
            Dimensions = Dimensions,
            Metric = Metric.Cosine,
            PayloadIndexes =
            {
                new PayloadIndex { Field = "shard", Kind = PayloadIndexKind.Keyword },
                new PayloadIndex { Field = "group", Kind = PayloadIndexKind.Keyword },
                new PayloadIndex { Field = "price", Kind = PayloadIndexKind.Numeric },
            },
        });
        var upsert = new UpsertRequest { Collection = "items" };
        for (var i = 0; i < Points; i++)
        {
            upsert.Points.Add(TestData.Point((ulong)i, _vectors[i], Payload(i)));
        }
        await _server.Client.UpsertAsync(upsert);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static Struct Payload(int i) => new()
    {
        Fields =
        {
            ["shard"] = Value.ForString($"s{i % 100}"),
            ["group"] = Value.ForString($"g{i % 10}"),
            ["price"] = Value.ForNumber(i % 1000),
        },
    };

    public static TheoryData<string> RestrictiveFilters => ["shard=s7", "price in [100,109]", "shard in (s3,s4) and not price<50"];

    public static TheoryData<string> BroadFilters => ["group=g3", "group in (g1,g2) and not shard=s11", "price<100 or shard=s5"];

    [Theory]
    [MemberData(nameof(RestrictiveFilters))]
    public async Task Restrictive_filter_returns_exactly_the_exact_top_k_of_matching_points(string name)
    {
        var (filter, admit) = Build(name);
        Assert.InRange(Enumerable.Range(0, Points).Count(admit), 40, 130); // about 1% to 2% match
        foreach (var query in _queries)
        {
            var response = await Search(query, filter, exact: false);
            var expected = TestData.ExactTopK(_vectors, query, K, admit);
            Assert.Equal(expected, response.Points.Select(p => p.Id.Num).ToList());
        }
    }

    [Theory]
    [MemberData(nameof(BroadFilters))]
    public async Task Broad_filter_walks_the_graph_and_still_returns_k_matching_points_with_high_recall(string name)
    {
        var (filter, admit) = Build(name);
        double found = 0;
        foreach (var query in _queries)
        {
            var response = await Search(query, filter, exact: false);
            Assert.Equal(K, response.Points.Count); // not a post-filter that returns fewer
            Assert.All(response.Points, p => Assert.True(admit((int)p.Id.Num), $"point {p.Id.Num} does not match {name}"));
            var expected = TestData.ExactTopK(_vectors, query, K, admit);
            found += response.Points.Count(p => expected.Contains(p.Id.Num));
        }
        Assert.True(found / (K * _queries.Length) >= 0.95, $"recall@10 {found / (K * _queries.Length):F3} < 0.95 for {name}");
    }

    [Theory]
    [MemberData(nameof(BroadFilters))]
    public async Task Exact_search_with_a_broad_filter_returns_exactly_the_exact_top_k(string name)
    {
        var (filter, admit) = Build(name);
        foreach (var query in _queries.Take(8))
        {
            var response = await Search(query, filter, exact: true);
            Assert.Equal(TestData.ExactTopK(_vectors, query, K, admit), response.Points.Select(p => p.Id.Num).ToList());
        }
    }

    [Fact]
    public async Task Unfiltered_search_finds_a_stored_vector_first_with_its_payload_and_score()
    {
        var response = await _server.Client.SearchAsync(new SearchRequest
        {
            Collection = "items", Vector = new Vector { Values = { _vectors[1234] } }, Limit = 3, WithPayload = true,
        });
        Assert.Equal(1234UL, response.Points[0].Id.Num);
        Assert.Equal(1.0, response.Points[0].Score, 2);
        Assert.Equal("s34", response.Points[0].Payload.Fields["shard"].StringValue);
    }

    [Fact]
    public async Task Score_threshold_drops_weaker_hits()
    {
        var query = _queries[0];
        var all = await _server.Client.SearchAsync(new SearchRequest { Collection = "items", Vector = new Vector { Values = { query } }, Limit = 10 });
        var cut = all.Points[4].Score;
        var some = await _server.Client.SearchAsync(new SearchRequest
        {
            Collection = "items", Vector = new Vector { Values = { query } }, Limit = 10, ScoreThreshold = cut,
        });
        Assert.InRange(some.Points.Count, 1, 9);
        Assert.All(some.Points, p => Assert.True(p.Score >= cut));
    }

    [Fact]
    public async Task Batch_search_answers_each_search_in_order()
    {
        var batch = new SearchBatchRequest { Collection = "items" };
        foreach (var i in new[] { 5, 50, 500 })
        {
            batch.Searches.Add(new SearchRequest { Vector = new Vector { Values = { _vectors[i] } }, Limit = 1 });
        }
        var response = await _server.Client.SearchBatchAsync(batch);
        Assert.Equal([5UL, 50UL, 500UL], response.Results.Select(r => r.Points[0].Id.Num));
    }

    [Fact]
    public async Task Delete_by_filter_removes_exactly_the_matching_points()
    {
        var deleted = await _server.Client.DeleteAsync(new DeleteRequest
        {
            Collection = "items",
            Filter = new Filter { Must = { TestData.Field(TestData.Match("shard", "s99")) } },
        });
        Assert.Equal(60UL, deleted.Count);
        var got = await _server.Client.GetAsync(new GetRequest { Collection = "items", Ids = { new PointId { Num = 99 }, new PointId { Num = 98 } } });
        Assert.Equal([98UL], got.Points.Select(p => p.Id.Num));
        var info = await _server.Client.DescribeCollectionAsync(new DescribeCollectionRequest { Name = "items" });
        Assert.Equal((ulong)(Points - 60), info.PointsCount);
    }

    private Task<SearchResponse> Search(float[] query, Filter filter, bool exact) =>
        _server.Client.SearchAsync(new SearchRequest
        {
            Collection = "items",
            Vector = new Vector { Values = { query } },
            Limit = K,
            Filter = filter,
            Params = new SearchParams { Ef = 64, Exact = exact },
        }).ResponseAsync;

    private static (Filter Filter, Func<int, bool> Admit) Build(string name)
    {
        return name switch
        {
            "shard=s7" => (new Filter { Must = { TestData.Field(TestData.Match("shard", "s7")) } }, i => i % 100 == 7),
            "price in [100,109]" => (
                new Filter { Must = { TestData.Field(new FieldCondition { Key = "price", Range = new V1.Range { Gte = 100, Lte = 109 } }) } },
                i => i % 1000 is >= 100 and <= 109),
            "shard in (s3,s4) and not price<50" => (
                new Filter
                {
                    Must = { TestData.Field(new FieldCondition { Key = "shard", MatchAny = new MatchAny { Values = { new MatchValue { Keyword = "s3" }, new MatchValue { Keyword = "s4" } } } }) },
                    MustNot = { TestData.Field(new FieldCondition { Key = "price", Range = new V1.Range { Lt = 50 } }) },
                },
                i => i % 100 is 3 or 4 && i % 1000 >= 50),
            "group=g3" => (new Filter { Must = { TestData.Field(TestData.Match("group", "g3")) } }, i => i % 10 == 3),
            "group in (g1,g2) and not shard=s11" => (
                new Filter
                {
                    Must = { TestData.Field(new FieldCondition { Key = "group", MatchAny = new MatchAny { Values = { new MatchValue { Keyword = "g1" }, new MatchValue { Keyword = "g2" } } } }) },
                    MustNot = { TestData.Field(TestData.Match("shard", "s11")) },
                },
                i => i % 10 is 1 or 2 && i % 100 != 11),
            "price<100 or shard=s5" => (
                new Filter
                {
                    Should =
                    {
                        TestData.Field(new FieldCondition { Key = "price", Range = new V1.Range { Lt = 100 } }),
                        TestData.Field(TestData.Match("shard", "s5")),
                    },
                },
                i => i % 1000 < 100 || i % 100 == 5),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
    }
}
