using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>
/// One damaged file never takes the service down (issue 10, item 5): the host starts, the damaged collection
/// is restored from the snapshot before it and the log when they allow, and otherwise answers
/// FAILED_PRECONDITION naming the file, while every other collection of every tenant serves.
/// </summary>
public sealed class DamagedFileTests : IDisposable
{
    private readonly string _dataPath = Path.Combine(Path.GetTempPath(), "mesh-retrieval-damage", Guid.NewGuid().ToString("N"));
    private readonly float[][] _vectors = TestData.RandomVectors(100, 8, seed: 21);

    [Fact]
    public async Task A_truncated_newest_snapshot_is_rebuilt_from_the_older_snapshot_and_the_log()
    {
        await WriteTwoSessionsAsync();
        Truncate(NewestPointsFile("alpha", "a"), 10);

        await using (var server = await RetrievalServer.StartAsync(_dataPath))
        {
            await AssertAllPointsAsync(server, "alpha", "a");
            await AssertOtherTenantServesAsync(server);
            // Writable again, and the repaired state survives another restart.
            await server.Client.UpsertAsync(new UpsertRequest { Collection = "a", Points = { TestData.Point(500, _vectors[0]) } }, RetrievalServer.Tenant("alpha"));
        }
        await using (var server = await RetrievalServer.StartAsync(_dataPath))
        {
            await AssertAllPointsAsync(server, "alpha", "a");
            var info = await server.Client.DescribeCollectionAsync(new DescribeCollectionRequest { Name = "a" }, RetrievalServer.Tenant("alpha"));
            Assert.Equal(101UL, info.PointsCount);
        }
    }

    [Fact]
    public async Task A_snapshot_the_log_cannot_restore_is_failed_precondition_naming_the_file_and_the_others_serve()
    {
        await WriteTwoSessionsAsync();
        var damaged = NewestPointsFile("alpha", "a");
        Truncate(damaged, 10);
        // Both snapshots damaged: neither they nor the log alone can give back every acknowledged write.
        foreach (var older in Directory.GetFiles(Path.GetDirectoryName(damaged)!, "points-*.dat").Where(f => f != damaged))
        {
            Truncate(older, 10);
        }

        await using var server = await RetrievalServer.StartAsync(_dataPath);
        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.SearchAsync(
            new SearchRequest { Collection = "a", Vector = new Vector { Values = { _vectors[0] } }, Limit = 3 }, RetrievalServer.Tenant("alpha")).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Contains(Path.GetFileName(damaged), error.Status.Detail);
        Assert.Contains("drop it", error.Status.Detail);
        await AssertOtherTenantServesAsync(server);
        // The tenant's other collection serves too.
        Assert.Equal(20UL, (await server.Client.DescribeCollectionAsync(new DescribeCollectionRequest { Name = "a2" }, RetrievalServer.Tenant("alpha"))).PointsCount);

        // Creating over it is refused with the reason; dropping it clears the way.
        error = await Assert.ThrowsAsync<RpcException>(() => server.Client.CreateCollectionAsync(
            new CreateCollectionRequest { Name = "a", Dimensions = 8, Metric = Metric.Cosine }, RetrievalServer.Tenant("alpha")).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
        await server.Client.DropCollectionAsync(new DropCollectionRequest { Name = "a" }, RetrievalServer.Tenant("alpha"));
        await server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = "a", Dimensions = 8, Metric = Metric.Cosine }, RetrievalServer.Tenant("alpha"));
    }

    [Fact]
    public async Task A_damaged_manifest_or_definition_does_not_stop_the_host()
    {
        await WriteTwoSessionsAsync();
        var folder = Path.Combine(_dataPath, "alpha", "a");
        File.WriteAllBytes(Path.Combine(folder, "snapshot.manifest"), [0xff, 0xff, 0xff, 0xff, 0x0f, 0x22]);
        File.WriteAllBytes(Path.Combine(_dataPath, "alpha", "a2", "collection.definition"), [0x12, 0x05, 0x18, 0xff, 0xff, 0xff, 0x7f]);

        await using var server = await RetrievalServer.StartAsync(_dataPath);
        foreach (var name in new[] { "a", "a2" })
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.DescribeCollectionAsync(
                new DescribeCollectionRequest { Name = name }, RetrievalServer.Tenant("alpha")).ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
            Assert.Contains(name == "a" ? "snapshot.manifest" : "collection.definition", error.Status.Detail);
        }
        await AssertOtherTenantServesAsync(server);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dataPath))
        {
            Directory.Delete(_dataPath, recursive: true);
        }
    }

    // Session 1 writes points 0..49 and snapshots at stop; session 2 writes 50..99, replaces 0..9 and
    // snapshots again, so the folder holds two snapshots and the log between them.
    private async Task WriteTwoSessionsAsync()
    {
        await using (var server = await RetrievalServer.StartAsync(_dataPath))
        {
            await server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = "a", Dimensions = 8, Metric = Metric.Cosine }, RetrievalServer.Tenant("alpha"));
            await server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = "a2", Dimensions = 8, Metric = Metric.L2 }, RetrievalServer.Tenant("alpha"));
            await server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = "b", Dimensions = 8, Metric = Metric.Cosine }, RetrievalServer.Tenant("beta"));
            await UpsertAsync(server, "alpha", "a", 0, 50, version: 1);
            await UpsertAsync(server, "alpha", "a2", 0, 20, version: 1);
            await UpsertAsync(server, "beta", "b", 0, 30, version: 1);
        }
        await using (var server = await RetrievalServer.StartAsync(_dataPath))
        {
            await UpsertAsync(server, "alpha", "a", 50, 100, version: 1);
            await UpsertAsync(server, "alpha", "a", 0, 10, version: 2);
        }
    }

    private async Task UpsertAsync(RetrievalServer server, string tenant, string collection, int from, int to, int version)
    {
        for (var start = from; start < to; start += 10)
        {
            await server.Client.UpsertAsync(new UpsertRequest
            {
                Collection = collection,
                Points = { Enumerable.Range(start, Math.Min(10, to - start)).Select(i => TestData.Point((ulong)i, _vectors[i], new Struct { Fields = { ["v"] = Value.ForNumber(version) } })) },
            }, RetrievalServer.Tenant(tenant));
        }
    }

    private async Task AssertAllPointsAsync(RetrievalServer server, string tenant, string collection)
    {
        var got = await server.Client.GetAsync(new GetRequest
        {
            Collection = collection, Ids = { Enumerable.Range(0, 100).Select(i => new PointId { Num = (ulong)i }) }, WithVector = true,
        }, RetrievalServer.Tenant(tenant));
        Assert.Equal(100, got.Points.Count);
        foreach (var point in got.Points)
        {
            Assert.Equal(_vectors[point.Id.Num], point.Vector.Values);
            Assert.Equal(point.Id.Num < 10 ? 2 : 1, point.Payload.Fields["v"].NumberValue);
        }
        var hits = await server.Client.SearchAsync(new SearchRequest { Collection = collection, Vector = new Vector { Values = { _vectors[42] } }, Limit = 1 }, RetrievalServer.Tenant(tenant));
        Assert.Equal(42UL, hits.Points[0].Id.Num);
    }

    private async Task AssertOtherTenantServesAsync(RetrievalServer server)
    {
        var hits = await server.Client.SearchAsync(new SearchRequest { Collection = "b", Vector = new Vector { Values = { _vectors[7] } }, Limit = 1 }, RetrievalServer.Tenant("beta"));
        Assert.Equal(7UL, hits.Points[0].Id.Num);
        Assert.Equal(30UL, (await server.Client.DescribeCollectionAsync(new DescribeCollectionRequest { Name = "b" }, RetrievalServer.Tenant("beta"))).PointsCount);
    }

    private string NewestPointsFile(string tenant, string collection) =>
        Directory.GetFiles(Path.Combine(_dataPath, tenant, collection), "points-*.dat")
            .OrderByDescending(f => ulong.Parse(Path.GetFileNameWithoutExtension(f)["points-".Length..], System.Globalization.CultureInfo.InvariantCulture))
            .First();

    private static void Truncate(string path, int bytes)
    {
        using var file = new FileStream(path, FileMode.Open);
        file.SetLength(file.Length - bytes);
    }
}
