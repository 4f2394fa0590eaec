using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>
/// Payload-only updates (issue 14: price and stock change without re-embedding), with Qdrant's set_payload
/// (merge keys) and overwrite_payload semantics: vectors untouched, filters and BM25 see the new values at
/// once, and the change survives a restart.
/// </summary>
public sealed class SetPayloadTests
{
    private static readonly Filter Cheap = new() { Must = { new Condition { Field = new FieldCondition { Key = "price", Range = new V1.Range { Lte = 50 } } } } };

    [Fact]
    public async Task Set_payload_changes_price_and_stock_keeps_the_vector_and_filters_see_the_new_values()
    {
        var dataPath = Path.Combine(Path.GetTempPath(), "mesh-retrieval-tests", Guid.NewGuid().ToString("N"));
        var vectors = TestData.RandomVectors(10, 8, seed: 5);
        try
        {
            await using (var server = await RetrievalServer.StartAsync(dataPath))
            {
                var client = server.Client;
                await client.CreateCollectionAsync(new CreateCollectionRequest
                {
                    Name = "shop", Dimensions = 8, Metric = Metric.Cosine, Bm25 = new Bm25Params { TextFields = { "name" } },
                    PayloadIndexes = { new V1.PayloadIndex { Field = "price", Kind = PayloadIndexKind.Numeric }, new V1.PayloadIndex { Field = "in_stock", Kind = PayloadIndexKind.Keyword } },
                });
                await client.UpsertAsync(new UpsertRequest
                {
                    Collection = "shop",
                    Points = { vectors.Select((v, i) => TestData.Point((ulong)i, v, Payload(100 + i, inStock: true, $"product {i}"))) },
                });
                Assert.Empty((await client.SearchAsync(new SearchRequest { Collection = "shop", Vector = Vec(vectors[3]), Limit = 10, Filter = Cheap })).Points);

                var result = await client.SetPayloadAsync(new SetPayloadRequest
                {
                    Collection = "shop", Ids = new PointIdList { Ids = { new PointId { Num = 3 }, new PointId { Num = 404 } } },
                    Payload = new Struct { Fields = { ["price"] = Value.ForNumber(19.5), ["in_stock"] = Value.ForBool(false) } },
                });
                Assert.Equal(1UL, result.Count); // the missing id 404 is ignored

                var point = (await client.GetAsync(new GetRequest { Collection = "shop", Ids = { new PointId { Num = 3 } }, WithVector = true })).Points[0];
                Assert.Equal(vectors[3], point.Vector.Values);
                Assert.Equal(19.5, point.Payload.Fields["price"].NumberValue);
                Assert.Equal("product 3", point.Payload.Fields["name"].StringValue); // merged: other keys stay

                var cheap = await client.SearchAsync(new SearchRequest { Collection = "shop", Vector = Vec(vectors[3]), Limit = 10, Filter = Cheap });
                Assert.Equal(3UL, Assert.Single(cheap.Points).Id.Num);
                Assert.Equal(1f, cheap.Points[0].Score, 3); // the same vector still scores as itself

                // By filter, and overwrite: the whole payload is replaced; BM25 reads the new name.
                result = await client.SetPayloadAsync(new SetPayloadRequest
                {
                    Collection = "shop", Filter = Cheap, Overwrite = true,
                    Payload = new Struct { Fields = { ["name"] = Value.ForString("clearance item"), ["price"] = Value.ForNumber(9) } },
                });
                Assert.Equal(1UL, result.Count);
                var sparse = await client.SearchAsync(new SearchRequest { Collection = "shop", Text = "clearance", Limit = 5, Mode = SearchMode.Sparse, WithPayload = true });
                Assert.Equal(3UL, Assert.Single(sparse.Points).Id.Num);
                Assert.False(sparse.Points[0].Payload.Fields.ContainsKey("in_stock"));
                Assert.DoesNotContain(3UL, (await client.SearchAsync(new SearchRequest { Collection = "shop", Text = "product 3", Limit = 10, Mode = SearchMode.Sparse })).Points
                    .Select(p => p.Id.Num));
            }
            await using (var server = await RetrievalServer.StartAsync(dataPath))
            {
                var point = (await server.Client.GetAsync(new GetRequest { Collection = "shop", Ids = { new PointId { Num = 3 } }, WithVector = true })).Points[0];
                Assert.Equal(vectors[3], point.Vector.Values);
                Assert.Equal(9, point.Payload.Fields["price"].NumberValue);
                Assert.Equal(3UL, Assert.Single((await server.Client.SearchAsync(new SearchRequest { Collection = "shop", Vector = Vec(vectors[0]), Limit = 10, Filter = Cheap })).Points).Id.Num);
            }
        }
        finally
        {
            Directory.Delete(dataPath, recursive: true);
        }
    }

    [Fact]
    public async Task Bad_payload_updates_are_refused_whole()
    {
        await using var server = await RetrievalServer.StartAsync();
        await server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = "c", Dimensions = 2, Metric = Metric.Cosine });
        await server.Client.UpsertAsync(new UpsertRequest { Collection = "c", Points = { TestData.Point(1, [1, 0], Payload(5, true, "a")), TestData.Point(2, [0, 1], Payload(6, true, "b")) } });

        var error = await Assert.ThrowsAsync<RpcException>(() => server.Client.SetPayloadAsync(new SetPayloadRequest { Collection = "c", Payload = new Struct() }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("selector", error.Status.Detail);

        var big = new Struct { Fields = { ["blob"] = Value.ForString(new string('x', 70_000)) } };
        error = await Assert.ThrowsAsync<RpcException>(() => server.Client.SetPayloadAsync(new SetPayloadRequest
        {
            Collection = "c", Payload = big, Ids = new PointIdList { Ids = { new PointId { Num = 1 }, new PointId { Num = 2 } } },
        }).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        var points = await server.Client.GetAsync(new GetRequest { Collection = "c", Ids = { new PointId { Num = 1 }, new PointId { Num = 2 } } });
        Assert.All(points.Points, p => Assert.False(p.Payload.Fields.ContainsKey("blob")));

        error = await Assert.ThrowsAsync<RpcException>(() => server.Client.SetPayloadAsync(new SetPayloadRequest
        {
            Collection = "c", Payload = new Struct(), Filter = new Filter { Must = { new Condition { Field = new FieldCondition { Key = "undeclared", Match = new MatchValue { Keyword = "x" } } } } },
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    private static Vector Vec(float[] values) => new() { Values = { values } };

    private static Struct Payload(double price, bool inStock, string name) => new()
    {
        Fields = { ["price"] = Value.ForNumber(price), ["in_stock"] = Value.ForBool(inStock), ["name"] = Value.ForString(name) },
    };
}
