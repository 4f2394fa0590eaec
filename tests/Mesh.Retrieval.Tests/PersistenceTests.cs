using Google.Protobuf.WellKnownTypes;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>Collections, points and payloads persist across restarts; drop removes the files.</summary>
public sealed class PersistenceTests
{
    [Fact]
    public async Task A_restarted_host_serves_the_same_collections_points_and_settings()
    {
        var dataPath = Path.Combine(Path.GetTempPath(), "mesh-retrieval-tests", Guid.NewGuid().ToString("N"));
        var vectors = TestData.RandomVectors(300, 8, seed: 5);
        try
        {
            await using (var server = await RetrievalServer.StartAsync(dataPath))
            {
                await server.Client.CreateCollectionAsync(new CreateCollectionRequest
                {
                    Name = "kept", Dimensions = 8, Metric = Metric.InnerProduct, Hnsw = new HnswParams { M = 8, EfSearch = 40 }, Storage = V1.Storage.F32,
                });
                await server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = "dropped", Dimensions = 8, Metric = Metric.L2 });
                await server.Client.UpsertAsync(new UpsertRequest
                {
                    Collection = "kept",
                    Points = { vectors.Select((v, i) => TestData.Point((ulong)i, v, new Struct { Fields = { ["i"] = Value.ForNumber(i) } })) },
                });
                await server.Client.UpsertAsync(new UpsertRequest { Collection = "kept", Points = { new PointStruct { Id = new PointId { Uuid = "doc-a" }, Vector = new Vector { Values = { vectors[0] } } } } });
                await server.Client.DeleteAsync(new DeleteRequest { Collection = "kept", Ids = new PointIdList { Ids = { new PointId { Num = 7 } } } });
                await server.Client.DropCollectionAsync(new DropCollectionRequest { Name = "dropped" });
            }
            await using (var server = await RetrievalServer.StartAsync(dataPath))
            {
                var list = await server.Client.ListCollectionsAsync(new ListCollectionsRequest());
                var info = Assert.Single(list.Collections);
                Assert.Equal("kept", info.Name);
                Assert.Equal(300UL, info.PointsCount);
                Assert.Equal(8U, info.Hnsw.M);
                Assert.Equal(40U, info.Hnsw.EfSearch);
                Assert.Equal(V1.Storage.F32, info.Storage);
                Assert.True(info.DiskSizeBytes > 300 * 8 * 4);
                var got = await server.Client.GetAsync(new GetRequest
                {
                    Collection = "kept", Ids = { new PointId { Num = 5 }, new PointId { Num = 7 }, new PointId { Uuid = "doc-a" } }, WithVector = true,
                });
                Assert.Equal(2, got.Points.Count);
                Assert.Equal(5, got.Points[0].Payload.Fields["i"].NumberValue);
                Assert.Equal(vectors[5], got.Points[0].Vector.Values);
                Assert.Equal("doc-a", got.Points[1].Id.Uuid);
                Assert.False(Directory.Exists(Path.Combine(dataPath, "default", "dropped")));
            }
        }
        finally
        {
            Directory.Delete(dataPath, recursive: true);
        }
    }

    [Fact]
    public async Task Streaming_import_acknowledges_each_batch_with_running_totals()
    {
        await using var server = await RetrievalServer.StartAsync();
        await server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = "bulk", Dimensions = 8, Metric = Metric.Cosine });
        var vectors = TestData.RandomVectors(1000, 8, seed: 9);
        using var call = server.Client.Import();
        var progress = new List<ImportProgress>();
        var reading = Task.Run(async () =>
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                progress.Add(call.ResponseStream.Current);
            }
        });
        for (var batch = 0; batch < 4; batch++)
        {
            await call.RequestStream.WriteAsync(new ImportRequest
            {
                Collection = batch == 0 ? "bulk" : "",
                Points = { Enumerable.Range(batch * 250, 250).Select(i => TestData.Point((ulong)i, vectors[i])) },
            });
        }
        await call.RequestStream.CompleteAsync();
        await reading;
        Assert.Equal([250UL, 500UL, 750UL, 1000UL], progress.Select(p => p.PointsImported));
        Assert.Equal(1000UL, progress[^1].CollectionPoints);
    }
}
