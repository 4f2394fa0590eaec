using Grpc.Core;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>A tenant (x-mesh-tenant metadata) neither sees nor searches another tenant's collections.</summary>
public sealed class TenancyTests
{
    [Fact]
    public async Task Tenants_are_isolated_and_missing_metadata_means_default()
    {
        await using var server = await RetrievalServer.StartAsync();
        var client = server.Client;
        var acme = RetrievalServer.Tenant("acme");
        var globex = RetrievalServer.Tenant("globex");
        await client.CreateCollectionAsync(new CreateCollectionRequest { Name = "kb", Dimensions = 3, Metric = Metric.L2 }, acme);
        await client.UpsertAsync(new UpsertRequest { Collection = "kb", Points = { TestData.Point(1, [1, 2, 3]) } }, acme);

        Assert.Equal(["kb"], (await client.ListCollectionsAsync(new ListCollectionsRequest(), acme)).Collections.Select(c => c.Name));
        Assert.Empty((await client.ListCollectionsAsync(new ListCollectionsRequest(), globex)).Collections);
        Assert.Empty((await client.ListCollectionsAsync(new ListCollectionsRequest())).Collections);

        var search = new SearchRequest { Collection = "kb", Vector = new Vector { Values = { 1, 2, 3 } }, Limit = 1 };
        var error = await Assert.ThrowsAsync<RpcException>(() => client.SearchAsync(search, globex).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        error = await Assert.ThrowsAsync<RpcException>(() => client.GetAsync(new GetRequest { Collection = "kb", Ids = { new PointId { Num = 1 } } }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, error.StatusCode);

        // The same name is free for another tenant, with its own definition and data.
        await client.CreateCollectionAsync(new CreateCollectionRequest { Name = "kb", Dimensions = 2, Metric = Metric.L2 }, globex);
        var own = await client.SearchAsync(new SearchRequest { Collection = "kb", Vector = new Vector { Values = { 1, 2 } }, Limit = 1 }, globex);
        Assert.Empty(own.Points);
        Assert.Equal(1UL, (await client.SearchAsync(search, acme)).Points[0].Id.Num);

        error = await Assert.ThrowsAsync<RpcException>(() => client.ListCollectionsAsync(new ListCollectionsRequest(), RetrievalServer.Tenant("../etc")).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }
}
