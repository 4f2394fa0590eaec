using Google.Protobuf.WellKnownTypes;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>Searches run in parallel with writes and never see a torn point.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task Searches_during_replacing_writes_always_see_a_vector_with_its_own_payload()
    {
        await using var server = await RetrievalServer.StartAsync();
        var client = server.Client;
        const int dimensions = 12;
        await client.CreateCollectionAsync(new CreateCollectionRequest { Name = "live", Dimensions = dimensions, Metric = Metric.L2 });

        // Every write stores in the payload the sum of its vector: a search hit whose payload and vector
        // disagree would be a torn read.
        static PointStruct Versioned(ulong id, Random random)
        {
            var vector = TestData.RandomVectors(1, dimensions, random.Next())[0];
            return TestData.Point(id, vector, new Struct { Fields = { ["sum"] = Value.ForNumber(vector.Sum()) } });
        }

        var seed = new Random(1);
        await client.UpsertAsync(new UpsertRequest { Collection = "live", Points = { Enumerable.Range(0, 500).Select(i => Versioned((ulong)i, seed)) } });
        // Run until enough writes and searches overlapped (not for a wall-time window: on a loaded machine two
        // seconds may hold only a few fsynced writes); the deadline only guards against a hang.
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var totalWrites = 0;
        var totalSearches = 0;
        void StopWhenEnough()
        {
            if (Volatile.Read(ref totalWrites) >= 20 && Volatile.Read(ref totalSearches) >= 30)
            {
                stop.Cancel();
            }
        }
        var writers = Enumerable.Range(0, 2).Select(w => Task.Run(async () =>
        {
            var random = new Random(100 + w);
            var writes = 0;
            while (!stop.IsCancellationRequested)
            {
                var ids = Enumerable.Range(0, 20).Select(_ => (ulong)random.Next(0, 500)).Distinct();
                await client.UpsertAsync(new UpsertRequest { Collection = "live", Points = { ids.Select(id => Versioned(id, random)) } });
                writes++;
                Interlocked.Increment(ref totalWrites);
                StopWhenEnough();
            }
            return writes;
        })).ToArray();
        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(async () =>
        {
            var random = new Random(200 + r);
            var searches = 0;
            while (!stop.IsCancellationRequested)
            {
                var query = TestData.RandomVectors(1, dimensions, random.Next())[0];
                var response = await client.SearchAsync(new SearchRequest
                {
                    Collection = "live", Vector = new Vector { Values = { query } }, Limit = 10, WithPayload = true, WithVector = true,
                    Params = new SearchParams { Ef = (uint)(16 << (searches % 3)) }, // ef changes between searches in flight
                });
                Assert.Equal(10, response.Points.Count);
                foreach (var hit in response.Points)
                {
                    Assert.Equal(hit.Payload.Fields["sum"].NumberValue, hit.Vector.Values.Sum(), 3);
                }
                searches++;
                Interlocked.Increment(ref totalSearches);
                StopWhenEnough();
            }
            return searches;
        })).ToArray();
        var written = await Task.WhenAll(writers);
        var searched = await Task.WhenAll(readers);
        Assert.True(written.Sum() >= 20 && searched.Sum() >= 30, $"{written.Sum()} writes and {searched.Sum()} searches before the deadline");
        Assert.All(written, w => Assert.True(w > 0));
        Assert.All(searched, s => Assert.True(s > 0));
        var info = await client.DescribeCollectionAsync(new DescribeCollectionRequest { Name = "live" });
        Assert.Equal(500UL, info.PointsCount);
    }
}
