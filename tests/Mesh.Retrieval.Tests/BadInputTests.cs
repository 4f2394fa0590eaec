using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>Every kind of bad input gets the right status and a message that says what to fix, and the service keeps serving.</summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private RetrievalServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await RetrievalServer.StartAsync();
        await _server.Client.CreateCollectionAsync(new CreateCollectionRequest
        {
            Name = "docs",
            Dimensions = 4,
            Metric = Metric.Cosine,
            PayloadIndexes = { new PayloadIndex { Field = "lang", Kind = PayloadIndexKind.Keyword }, new PayloadIndex { Field = "year", Kind = PayloadIndexKind.Numeric } },
        });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Wrong_dimension_is_invalid_argument_naming_both_lengths()
    {
        var error = await Fails(() => Upsert(TestData.Point(1, [1, 2, 3])));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("3 components", error.Status.Detail);
        Assert.Contains("4 dimensions", error.Status.Detail);

        error = await Fails(() => _server.Client.SearchAsync(new SearchRequest { Collection = "docs", Vector = new Vector { Values = { 1, 2, 3, 4, 5 } }, Limit = 1 }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public async Task Non_finite_components_are_invalid_argument(float bad)
    {
        var error = await Fails(() => Upsert(TestData.Point(1, [1, bad, 0, 0])));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("component 1", error.Status.Detail);
        error = await Fails(() => _server.Client.SearchAsync(new SearchRequest { Collection = "docs", Vector = new Vector { Values = { bad, 0, 0, 1 } }, Limit = 1 }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public async Task Unknown_collection_is_not_found()
    {
        var error = await Fails(() => _server.Client.UpsertAsync(new UpsertRequest { Collection = "nope", Points = { TestData.Point(1, [1, 0, 0, 0]) } }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Contains("\"nope\"", error.Status.Detail);
        error = await Fails(() => _server.Client.DropCollectionAsync(new DropCollectionRequest { Name = "nope" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Duplicate_collection_is_already_exists()
    {
        var error = await Fails(() => _server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = "docs", Dimensions = 4, Metric = Metric.L2 }).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
    }

    [Theory]
    [InlineData("", 4, Metric.Cosine, "name")]
    [InlineData("bad/name", 4, Metric.Cosine, "name")]
    [InlineData("ok", 0, Metric.Cosine, "dimensions")]
    [InlineData("ok", 5000, Metric.Cosine, "dimensions")]
    [InlineData("ok", 4, Metric.Unspecified, "metric")]
    public async Task Bad_collection_definitions_are_invalid_argument(string name, uint dimensions, Metric metric, string field)
    {
        var error = await Fails(() => _server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = name, Dimensions = dimensions, Metric = metric }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith(field, error.Status.Detail);
    }

    [Fact]
    public async Task Empty_batch_and_duplicate_ids_are_invalid_argument()
    {
        var error = await Fails(() => _server.Client.UpsertAsync(new UpsertRequest { Collection = "docs" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("empty", error.Status.Detail);
        error = await Fails(() => Upsert(TestData.Point(1, [1, 0, 0, 0]), TestData.Point(1, [0, 1, 0, 0])));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("twice", error.Status.Detail);
    }

    [Fact]
    public async Task Oversized_payload_is_resource_exhausted_and_nothing_is_written()
    {
        var payload = new Struct { Fields = { ["blob"] = Value.ForString(new string('x', 70_000)) } };
        var error = await Fails(() => Upsert(TestData.Point(2, [1, 0, 0, 0]), TestData.Point(3, [0, 1, 0, 0], payload)));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("payload", error.Status.Detail);
        var got = await _server.Client.GetAsync(new GetRequest { Collection = "docs", Ids = { new PointId { Num = 2 } } });
        Assert.Empty(got.Points); // all-or-nothing
    }

    public static TheoryData<string, Filter> MalformedFilters => new()
    {
        { "no payload index", new Filter { Must = { TestData.Field(TestData.Match("colour", "red")) } } },
        { "needs a Numeric index", new Filter { Must = { TestData.Field(new FieldCondition { Key = "lang", Range = new V1.Range { Gt = 1 } }) } } },
        { "needs a Keyword index", new Filter { Must = { TestData.Field(TestData.Match("year", "2020")) } } },
        { "has no bound", new Filter { Must = { TestData.Field(new FieldCondition { Key = "year", Range = new V1.Range() }) } } },
        { "is empty", new Filter { Must = { TestData.Field(new FieldCondition { Key = "year", Range = new V1.Range { Gt = 5, Lt = 1 } }) } } },
        { "must set match", new Filter { Must = { TestData.Field(new FieldCondition { Key = "lang" }) } } },
        { "no conditions", new Filter() },
        { "match_any", new Filter { Must = { TestData.Field(new FieldCondition { Key = "lang", MatchAny = new MatchAny() }) } } },
    };

    [Theory]
    [MemberData(nameof(MalformedFilters))]
    public async Task Malformed_filter_is_invalid_argument_with_the_reason(string reason, Filter filter)
    {
        var error = await Fails(() => _server.Client.SearchAsync(new SearchRequest { Collection = "docs", Vector = new Vector { Values = { 1, 0, 0, 0 } }, Limit = 1, Filter = filter }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(reason, error.Status.Detail);
    }

    [Fact]
    public async Task Text_on_a_collection_without_embedder_is_failed_precondition()
    {
        var error = await Fails(() => _server.Client.SearchAsync(new SearchRequest { Collection = "docs", Text = "hello", Limit = 1 }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains("embedder", error.Status.Detail);
    }

    [Fact]
    public async Task Bad_limits_and_zero_cosine_vectors_are_invalid_argument_and_the_service_keeps_serving()
    {
        Assert.Equal(StatusCode.InvalidArgument, (await Fails(() => _server.Client.SearchAsync(new SearchRequest { Collection = "docs", Vector = new Vector { Values = { 1, 0, 0, 0 } } }).ResponseAsync)).StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, (await Fails(() => Upsert(TestData.Point(9, [0, 0, 0, 0])))).StatusCode);
        Assert.Equal(StatusCode.InvalidArgument, (await Fails(() => Upsert(new PointStruct { Vector = new Vector { Values = { 1, 0, 0, 0 } } }))).StatusCode);
        await Upsert(TestData.Point(10, [0, 0, 1, 0]));
        var hits = await _server.Client.SearchAsync(new SearchRequest { Collection = "docs", Vector = new Vector { Values = { 0, 0, 1, 0 } }, Limit = 1 });
        Assert.Equal(10UL, hits.Points[0].Id.Num);
    }

    private Task<UpdateResponse> Upsert(params PointStruct[] points) =>
        _server.Client.UpsertAsync(new UpsertRequest { Collection = "docs", Points = { points } }).ResponseAsync;

    private static async Task<RpcException> Fails(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);
}
