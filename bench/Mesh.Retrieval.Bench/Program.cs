using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Mesh.Retrieval.Embedding;
using Mesh.Retrieval.Native;
using Mesh.Retrieval.V1;
using Mesh.ServiceDefaults;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Retrieval.Bench;

/// <summary>
/// Recall@10 and queries/s of Mesh Retrieval on real sentence embeddings (all-MiniLM-L6-v2 of the WordNet
/// glosses), all measured in one run against the same held-out queries:
/// exact brute force (the reference), USearch alone in-process (through Mesh's thin C-API binding, no
/// service), and the Mesh Retrieval service over gRPC with concurrent clients; unfiltered and with 10%
/// and 1% payload filters. Usage: <c>dotnet run -c Release --project bench/Mesh.Retrieval.Bench
/// [-- --queries 1000 --clients 8 --corpus N]</c>; <c>--embed-only</c> only fills the embedding cache.
/// </summary>
internal static class Program
{
    private const int K = 10;
    private const int Rounds = 2;
    private const int BatchSize = 16;
    private static readonly int[] Efs = [16, 32, 64, 128, 256];

    private static async Task<int> Main(string[] args)
    {
        var root = RepoRoot.Find();
        var cache = Path.Combine(root, ".cache", "retrieval-bench");
        var glosses = WordNetCorpus.LoadGlosses();
        Console.Error.WriteLine($"corpus: {glosses.Count} distinct WordNet glosses");
        float[][] vectors;
        using (var embedder = new MiniLmTextEmbedder())
        {
            vectors = EmbeddingCache.LoadOrEmbed(glosses, embedder, cache, args.Contains("--corpus") ? Option(args, "--corpus", glosses.Count) : null);
        }
        if (args.Contains("--embed-only"))
        {
            return 0;
        }
        var queryCount = Option(args, "--queries", 1000);
        var clients = Option(args, "--clients", 8);
        var threads = Environment.ProcessorCount;

        // Held-out queries: a fixed random sample of the corpus, removed from the indexed base.
        var random = new Random(42);
        var order = Enumerable.Range(0, vectors.Length).OrderBy(_ => random.Next()).ToArray();
        var queries = order.Take(queryCount).Select(i => vectors[i]).ToArray();
        var baseVectors = order.Skip(queryCount).Select(i => vectors[i]).ToArray();
        Console.WriteLine($"# Mesh Retrieval benchmark: {baseVectors.Length} base vectors, {queries.Length} held-out queries, dim {vectors[0].Length}, k={K}, {threads} cores, {clients} concurrent gRPC clients");
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical CPUs, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");

        Func<int, bool> tenth = i => i % 10 == 0, hundredth = i => i % 100 == 0;
        var truth = GroundTruth.TopK(baseVectors, queries, K, null, threads, out var exactQps);
        var truth10 = GroundTruth.TopK(baseVectors, queries, K, tenth, threads, out var exact10Qps);
        var truth1 = GroundTruth.TopK(baseVectors, queries, K, hundredth, threads, out var exact1Qps);
        Console.WriteLine($"exact brute force ({threads} threads): {exactQps:F0} q/s unfiltered, {exact10Qps:F0} q/s at 10%, {exact1Qps:F0} q/s at 1% (recall 1.000 by definition)");

        // The service over gRPC, in this process, on loopback. Its collection's own HNSW index is then also
        // queried directly as "USearch alone": the same graph, so recall differences are the service's doing.
        var dataPath = Path.Combine(cache, "service-data");
        if (Directory.Exists(dataPath))
        {
            Directory.Delete(dataPath, recursive: true);
        }
        await using var app = RetrievalHost.CreateApp([
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0", "--Mesh:Endpoints:Http=", $"--Retrieval:DataPath={dataPath}",
            "--Logging:LogLevel:Default=Warning", "--Retrieval:SnapshotAfterLogBytes=100000000000"]);
        await app.StartAsync();
        using var channel = GrpcChannel.ForAddress(app.GetGrpcAddress(), new GrpcChannelOptions { MaxSendMessageSize = 64 << 20 });
        var client = new RetrievalService.RetrievalServiceClient(channel);
        await client.CreateCollectionAsync(new CreateCollectionRequest
        {
            Name = "wordnet", Dimensions = (uint)vectors[0].Length, Metric = Metric.Cosine,
            Hnsw = new HnswParams { M = 16, EfConstruction = 128, EfSearch = 64 },
            PayloadIndexes = { new PayloadIndex { Field = "tenth", Kind = PayloadIndexKind.Keyword }, new PayloadIndex { Field = "hundredth", Kind = PayloadIndexKind.Keyword } },
        });
        var build = Stopwatch.StartNew();
        using (var import = client.Import())
        {
            var progress = Task.Run(async () =>
            {
                while (await import.ResponseStream.MoveNext(CancellationToken.None))
                {
                    if (import.ResponseStream.Current.Batches % 10 == 0)
                    {
                        Console.Error.WriteLine($"  imported {import.ResponseStream.Current.PointsImported} ({build.Elapsed.TotalSeconds:F0} s)");
                    }
                }
            });
            foreach (var chunk in Enumerable.Range(0, baseVectors.Length).Chunk(1000))
            {
                await import.RequestStream.WriteAsync(new ImportRequest
                {
                    Collection = "wordnet",
                    Points =
                    {
                        chunk.Select(i => new PointStruct
                        {
                            Id = new PointId { Num = (ulong)i },
                            Vector = new Vector { Values = { baseVectors[i] } },
                            Payload = new Struct { Fields = { ["tenth"] = Value.ForBool(tenth(i)), ["hundredth"] = Value.ForBool(hundredth(i)) } },
                        }),
                    },
                });
            }
            await import.RequestStream.CompleteAsync();
            await progress;
        }
        var collection = app.Services.GetRequiredService<Collections.CollectionManager>().Get("default", "wordnet");
        var index = collection.Index;
        Console.WriteLine($"service import (HNSW M=16, ef_construction=128, f16; durable, fsynced per 1000-point batch): {baseVectors.Length} points in {build.Elapsed.TotalSeconds:F1} s ({index.HardwareAcceleration()}, index {index.MemoryUsage() / (1 << 20)} MiB)");

        // Keys are assigned in import order from 1: key k holds base vector k - 1.
        var truthKeys = new Func<int[][], int[][]>(t => t.Select(r => r.Select(i => i + 1).ToArray()).ToArray());
        var rows = new List<string>();
        foreach (var ef in Efs)
        {
            // Alternating rounds, best of each: the machine is shared, so a slow moment should not land on one side only.
            double usearch1 = 0, usearchN = 0, service = 0, recall1 = 0, recallN = 0, recallService = 0;
            for (var round = 0; round < Rounds; round++)
            {
                var (r1, q1) = RunUsearch(index, queries, ef, truthKeys(truth), 1, null);
                var (rn, qn) = RunUsearch(index, queries, ef, truthKeys(truth), threads, null);
                var (rs, qs) = await RunServiceAsync(client, queries, ef, truth, clients, null);
                (recall1, recallN, recallService) = (r1, rn, rs);
                (usearch1, usearchN, service) = (Math.Max(usearch1, q1), Math.Max(usearchN, qn), Math.Max(service, qs));
            }
            rows.Add($"| USearch alone, 1 thread | {ef} | {recall1:F3} | {usearch1:F0} | |");
            rows.Add($"| USearch alone, {threads} threads | {ef} | {recallN:F3} | {usearchN:F0} | |");
            rows.Add($"| **Mesh service over gRPC**, {clients} clients | {ef} | {recallService:F3} | {service:F0} | **{service / usearchN:F2}** |");
            var (recallBatch, batched) = await RunServiceBatchedAsync(client, queries, ef, truth, clients, BatchSize);
            rows.Add($"| Mesh service over gRPC, SearchBatch of {BatchSize}, {clients} clients | {ef} | {recallBatch:F3} | {batched:F0} | {batched / usearchN:F2} |");
        }
        foreach (var (name, field, admit, t) in new[] { ("10%", "tenth", tenth, truth10), ("1%", "hundredth", hundredth, truth1) })
        {
            foreach (var ef in new[] { 32, 64, 128 })
            {
                var filter = new Filter { Must = { new Condition { Field = new FieldCondition { Key = field, Match = new MatchValue { Boolean = true } } } } };
                var (ru, qu) = RunUsearch(index, queries, ef, truthKeys(t), threads, key => admit((int)key - 1));
                var (rs, qs) = await RunServiceAsync(client, queries, ef, t, clients, filter);
                rows.Add($"| USearch alone, filtered {name}, {threads} threads | {ef} | {ru:F3} | {qu:F0} | |");
                rows.Add($"| Mesh service over gRPC, filtered {name}, {clients} clients | {ef} | {rs:F3} | {qs:F0} | {qs / qu:F2} |");
            }
        }
        await app.StopAsync();

        Console.WriteLine();
        Console.WriteLine($"| engine | ef | recall@10 | queries/s | service ÷ USearch alone ({threads} threads, same ef) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Console.WriteLine($"| exact brute force, {threads} threads | - | 1.000 | {exactQps:F0} | |");
        foreach (var row in rows)
        {
            Console.WriteLine(row);
        }
        return 0;
    }

    private static (double Recall, double Qps) RunUsearch(UsearchIndex index, float[][] queries, int ef, int[][] truth, int threads, Func<ulong, bool>? filter)
    {
        var found = new IReadOnlyCollection<long>[queries.Length];
        var clock = Stopwatch.StartNew();
        Parallel.For(0, queries.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, q =>
        {
            var keys = new ulong[K];
            var distances = new float[K];
            var n = index.Search(queries[q], ef, keys, distances, filter);
            found[q] = keys.Take(n).Select(k => (long)k).ToArray();
        });
        var qps = queries.Length / clock.Elapsed.TotalSeconds;
        return (GroundTruth.Recall(truth, found), qps);
    }

    private static async Task<(double Recall, double Qps)> RunServiceAsync(
        RetrievalService.RetrievalServiceClient client, float[][] queries, int ef, int[][] truth, int clients, Filter? filter)
    {
        var requests = queries.Select(q => new SearchRequest
        {
            Collection = "wordnet", Vector = new Vector { Values = { q } }, Limit = K, Params = new SearchParams { Ef = (uint)ef }, Filter = filter,
        }).ToArray();
        await client.SearchAsync(requests[0]); // warm-up
        var found = new IReadOnlyCollection<long>[queries.Length];
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int q;
            while ((q = Interlocked.Increment(ref next)) < requests.Length)
            {
                var response = await client.SearchAsync(requests[q]);
                found[q] = response.Points.Select(p => (long)p.Id.Num).ToArray();
            }
        })));
        var qps = queries.Length / clock.Elapsed.TotalSeconds;
        return (GroundTruth.Recall(truth, found), qps);
    }

    private static async Task<(double Recall, double Qps)> RunServiceBatchedAsync(
        RetrievalService.RetrievalServiceClient client, float[][] queries, int ef, int[][] truth, int clients, int batchSize)
    {
        var batches = Enumerable.Range(0, queries.Length).Chunk(batchSize).Select(chunk => (chunk, request: new SearchBatchRequest
        {
            Collection = "wordnet",
            Searches = { chunk.Select(q => new SearchRequest { Vector = new Vector { Values = { queries[q] } }, Limit = K, Params = new SearchParams { Ef = (uint)ef } }) },
        })).ToArray();
        var found = new IReadOnlyCollection<long>[queries.Length];
        var next = -1;
        var clock = Stopwatch.StartNew();
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
        var qps = queries.Length / clock.Elapsed.TotalSeconds;
        return (GroundTruth.Recall(truth, found), qps);
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], out var value) ? value : fallback;
    }
}
