using Grpc.Net.Client;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Bench;

/// <summary>The benchmark's gRPC caller: its channel settings and the concurrent Search / SearchBatch loops.</summary>
internal static class ServiceClient
{
    public const int K = 10;

    /// <summary>
    /// A channel as a deployed client (the gateway) opens one: one pooled HTTP/2 connection, more opened when
    /// the streams in flight pass the server's limit (100) instead of queueing behind it.
    /// </summary>
    public static GrpcChannel Channel(Uri address) => GrpcChannel.ForAddress(address, new GrpcChannelOptions
    {
        MaxSendMessageSize = 64 << 20,
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan },
    });

    /// <summary>The benchmark's filters: a boolean payload field that is true for 10% or 1% of the points.</summary>
    public static Filter Filter(string field) =>
        new() { Must = { new Condition { Field = new FieldCondition { Key = field, Match = new MatchValue { Boolean = true } } } } };

    /// <summary>
    /// Every query as one Search call, from <paramref name="clients"/> concurrent callers; recall left 0.
    /// <paramref name="signal"/> hears "go" just before the timed part.
    /// </summary>
    public static async Task<(IReadOnlyCollection<long>[] Found, Measurement Measurement)> SearchAsync(
        RetrievalService.RetrievalServiceClient client, float[][] queries, int ef, int clients, Filter? filter, Action<string>? signal = null)
    {
        var requests = queries.Select(q => new SearchRequest
        {
            Collection = "wordnet", Vector = new Vector { Values = { q } }, Limit = K, Params = new SearchParams { Ef = (uint)ef }, Filter = filter,
        }).ToArray();
        await client.SearchAsync(requests[0]); // warm-up
        var found = new IReadOnlyCollection<long>[queries.Length];
        var next = -1;
        signal?.Invoke("go");
        var clock = CpuClock.Start();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int q;
            while ((q = Interlocked.Increment(ref next)) < requests.Length)
            {
                var response = await client.SearchAsync(requests[q]);
                found[q] = response.Points.Select(p => (long)p.Id.Num).ToArray();
            }
        })));
        return (found, clock.Stop(queries.Length, 0));
    }

    /// <summary>The queries in SearchBatch calls of <paramref name="batchSize"/>, from concurrent callers; recall left 0.</summary>
    public static async Task<(IReadOnlyCollection<long>[] Found, Measurement Measurement)> SearchBatchesAsync(
        RetrievalService.RetrievalServiceClient client, float[][] queries, int ef, int clients, int batchSize, Action<string>? signal = null)
    {
        var batches = Enumerable.Range(0, queries.Length).Chunk(batchSize).Select(chunk => (chunk, request: new SearchBatchRequest
        {
            Collection = "wordnet",
            Searches = { chunk.Select(q => new SearchRequest { Vector = new Vector { Values = { queries[q] } }, Limit = K, Params = new SearchParams { Ef = (uint)ef } }) },
        })).ToArray();
        await client.SearchBatchAsync(batches[0].request); // warm-up
        var found = new IReadOnlyCollection<long>[queries.Length];
        var next = -1;
        signal?.Invoke("go");
        var clock = CpuClock.Start();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int b;
            while ((b = Interlocked.Increment(ref next)) < batches.Length)
            {
                var response = await client.SearchBatchAsync(batches[b].request);
                for (var i = 0; i < batches[b].chunk.Length; i++)
                {
                    found[batches[b].chunk[i]] = response.Results[i].Points.Select(p => (long)p.Id.Num).ToArray();
                }
            }
        })));
        return (found, clock.Stop(queries.Length, 0));
    }
}
