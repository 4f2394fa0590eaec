using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>
/// No request ends the process or inflates memory past a limit (issue 10, the class of item 2): nesting
/// (filters, payloads) is bounded with INVALID_ARGUMENT, and responses whose hits carry large vectors or
/// payloads are bounded by <c>MaxResponseBytes</c> with RESOURCE_EXHAUSTED; the service keeps serving.
/// </summary>
public sealed class RequestLimitTests : IAsyncLifetime
{
    private const int Dimensions = 1024;
    private RetrievalServer _server = null!;
    private float[][] _vectors = [];

    public async Task InitializeAsync()
    {
        _server = await RetrievalServer.StartAsync(null, "--Retrieval:MaxResponseBytes=200000");
        await _server.Client.CreateCollectionAsync(new CreateCollectionRequest
        {
            Name = "big", Dimensions = Dimensions, Metric = Metric.Cosine,
            PayloadIndexes = { new PayloadIndex { Field = "tag", Kind = PayloadIndexKind.Keyword } },
        });
        _vectors = TestData.RandomVectors(120, Dimensions, seed: 8);
        await _server.Client.UpsertAsync(new UpsertRequest
        {
            Collection = "big",
            Points = { _vectors.Select((v, i) => TestData.Point((ulong)i, v, new Struct { Fields = { ["tag"] = Value.ForString("t" + (i % 3)) } })) },
        });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Responses_past_the_byte_limit_are_resource_exhausted_and_smaller_ones_are_served()
    {
        // 100 hits with 1024-dimension vectors: ~410 kB, over the 200 kB limit.
        var search = new SearchRequest { Collection = "big", Vector = new Vector { Values = { _vectors[0] } }, Limit = 100, WithVector = true };
        var error = await Assert.ThrowsAsync<RpcException>(() => _server.Client.SearchAsync(search).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("with_vector", error.Status.Detail);

        search.WithVector = false;
        Assert.Equal(100, (await _server.Client.SearchAsync(search)).Points.Count);

        var batch = new SearchBatchRequest { Collection = "big" };
        for (var i = 0; i < 3; i++)
        {
            batch.Searches.Add(new SearchRequest { Vector = new Vector { Values = { _vectors[i] } }, Limit = 20, WithVector = true });
        }
        error = await Assert.ThrowsAsync<RpcException>(() => _server.Client.SearchBatchAsync(batch).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);

        var get = new GetRequest { Collection = "big", Ids = { Enumerable.Range(0, 120).Select(i => new PointId { Num = (ulong)i }) }, WithVector = true };
        error = await Assert.ThrowsAsync<RpcException>(() => _server.Client.GetAsync(get).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        get.WithVector = false;
        Assert.Equal(120, (await _server.Client.GetAsync(get)).Points.Count);
    }

    [Fact]
    public async Task A_filter_nested_past_its_depth_limit_is_invalid_argument() => await Deeply_nested_filters_are_invalid_argument(5);

    [Theory]
    [InlineData(300)]   // past protobuf's recursion limit: refused while parsing
    [InlineData(1000)]  // deep enough to overflow the stack of an unbounded recursive parser
    public async Task Deeply_nested_filters_are_invalid_argument(int depth)
    {
        var filter = new Filter { Must = { TestData.Field(TestData.Match("tag", "t1")) } };
        for (var i = 1; i < depth; i++)
        {
            filter = new Filter { Must = { new Condition { Filter = filter } } };
        }
        var request = new SearchRequest { Collection = "big", Vector = new Vector { Values = { _vectors[0] } }, Limit = 3, Filter = filter };
        var error = await Assert.ThrowsAsync<RpcException>(() => _server.Client.SearchAsync(request).ResponseAsync);
        Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{error.StatusCode}: {error.Status.Detail}");
        await AssertServingAsync();
    }

    [Theory]
    [InlineData(300)]
    [InlineData(1000)]
    public async Task Deeply_nested_payloads_are_invalid_argument(int depth)
    {
        var payload = new Struct { Fields = { ["tag"] = Value.ForString("t1") } };
        for (var i = 0; i < depth; i++)
        {
            payload = new Struct { Fields = { ["x"] = Value.ForStruct(payload) } };
        }
        var request = new UpsertRequest { Collection = "big", Points = { TestData.Point(999, _vectors[0], payload) } };
        var error = await Assert.ThrowsAsync<RpcException>(() => _server.Client.UpsertAsync(request).ResponseAsync);
        Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{error.StatusCode}: {error.Status.Detail}");
        await AssertServingAsync();
    }

    [Fact]
    public async Task Too_many_searches_in_a_batch_are_invalid_argument()
    {
        var batch = new SearchBatchRequest { Collection = "big" };
        for (var i = 0; i < 257; i++)
        {
            batch.Searches.Add(new SearchRequest { Vector = new Vector { Values = { _vectors[0] } }, Limit = 1 });
        }
        var error = await Assert.ThrowsAsync<RpcException>(() => _server.Client.SearchBatchAsync(batch).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("1..256", error.Status.Detail);
    }

    private async Task AssertServingAsync()
    {
        var hits = await _server.Client.SearchAsync(new SearchRequest { Collection = "big", Vector = new Vector { Values = { _vectors[5] } }, Limit = 1 });
        Assert.Equal(5UL, hits.Points[0].Id.Num);
    }
}
