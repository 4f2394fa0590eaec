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
/// [-- --queries 1000 --clients 8 --corpus N]</c>; <c>--embed-only</c> only fills the embedding cache;
/// <c>--profile-seconds S [--profile-ef 32] [--profile-filter tenth|hundredth]</c> only loops the service
/// for a profiler attached from outside (perf with <c>DOTNET_PerfMapEnabled=1</c>, or dotnet-trace).
/// </summary>
internal static class Program
{
    private const int K = ServiceClient.K;
    private const int Rounds = 2;
    private const int BatchSize = 16;
    private static readonly int[] Efs = [16, 32, 64, 128, 256];

    private static async Task<int> Main(string[] args)
    {
        if (args.Contains(ClientProcess.Flag))
        {
            return await ClientProcess.RunChildAsync(args);
        }
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
        using var channel = ServiceClient.Channel(app.GetGrpcAddress());
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
        var profileSeconds = Option(args, "--profile-seconds", 0);
        var queryFile = ClientProcess.WriteQueries(queries, cache);
        var dimensions = vectors[0].Length;
        var address = app.GetGrpcAddress();
        async Task<Measurement> Service(int ef, int batch, string? filterField, int[][] t)
        {
            var r = await ClientProcess.MeasureAsync(address, queryFile, queries.Length, dimensions, ef, clients, batch, filterField);
            return new Measurement(GroundTruth.Recall(t, r.Found), r.Qps, r.ServerCpuUsPerQuery, r.ClientCpuUsPerQuery);
        }
        if (profileSeconds > 0)
        {
            // Only the service at one ef, for a profiler attached from outside (dotnet-trace collect -p PID).
            var profileEf = Option(args, "--profile-ef", 32);
            var profileFilter = args.Contains("--profile-filter") ? args[Array.IndexOf(args, "--profile-filter") + 1] : null;
            Console.WriteLine($"profiling: service only, ef {profileEf}, filter {profileFilter ?? "none"}, {profileSeconds} s, pid {Environment.ProcessId}");
            var until = Stopwatch.StartNew();
            while (until.Elapsed.TotalSeconds < profileSeconds)
            {
                var m = await ClientProcess.MeasureAsync(app.GetGrpcAddress(), queryFile, queries.Length, dimensions, profileEf, clients, 1, profileFilter);
                Console.WriteLine($"  service ef {profileEf}: {m.Qps:F0} q/s, service {m.ServerCpuUsPerQuery:F0} + client {m.ClientCpuUsPerQuery:F0} µs CPU per query");
            }
            await app.StopAsync();
            return 0;
        }
        var rows = new List<string>();
        var efs = args.Contains("--efs") ? args[Array.IndexOf(args, "--efs") + 1].Split(',').Select(int.Parse).ToArray() : Efs;
        foreach (var ef in efs)
        {
            // Alternating rounds, best of each: the machine is shared, so a slow moment should not land on one side only.
            Measurement usearch1 = default, usearchN = default, service = default, batched = default;
            for (var round = 0; round < Rounds; round++)
            {
                usearch1 = Measurement.Best(usearch1, RunUsearch(index, queries, ef, truthKeys(truth), 1, null));
                usearchN = Measurement.Best(usearchN, RunUsearch(index, queries, ef, truthKeys(truth), threads, null));
                service = Measurement.Best(service, await Service(ef, 1, null, truth));
                batched = Measurement.Best(batched, await Service(ef, BatchSize, null, truth));
            }
            rows.Add(Row("USearch alone, 1 thread", ef, usearch1, null));
            rows.Add(Row($"USearch alone, {threads} threads", ef, usearchN, null));
            rows.Add(Row($"**Mesh service over gRPC**, {clients} clients", ef, service, usearchN, bold: true));
            rows.Add(Row($"Mesh service over gRPC, SearchBatch of {BatchSize}, {clients} clients", ef, batched, usearchN));
        }
        foreach (var (name, field, admit, t) in new[] { ("10%", "tenth", tenth, truth10), ("1%", "hundredth", hundredth, truth1) })
        {
            foreach (var ef in efs.Where(e => e is >= 32 and <= 128))
            {
                Measurement usearch = default, service = default;
                for (var round = 0; round < Rounds; round++)
                {
                    usearch = Measurement.Best(usearch, RunUsearch(index, queries, ef, truthKeys(t), threads, key => admit((int)key - 1)));
                    service = Measurement.Best(service, await Service(ef, 1, field, t));
                }
                rows.Add(Row($"USearch alone, filtered {name}, {threads} threads", ef, usearch, null));
                rows.Add(Row($"Mesh service over gRPC, filtered {name}, {clients} clients", ef, service, usearch));
                if (name == "10%")
                {
                    // The key-set cache, A/B in this run: the planner in-process, set reused vs rebuilt per search.
                    var (cached, rebuilt) = KeySetAb.Measure(collection, queries, ef, field, t, threads, Rounds);
                    rows.Add(Row($"Mesh collection in-process, filtered {name}, key set rebuilt per search, {threads} threads", ef, rebuilt, null));
                    rows.Add(Row($"Mesh collection in-process, filtered {name}, key set cached (÷ rebuilt), {threads} threads", ef, cached, rebuilt));
                }
            }
        }
        await app.StopAsync();

        Console.WriteLine();
        Console.WriteLine($"| engine | ef | recall@10 | queries/s | CPU µs per query | client process CPU µs per query | service ÷ USearch alone ({threads} threads, same ef): queries/s | by CPU per query |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        Console.WriteLine($"| exact brute force, {threads} threads | - | 1.000 | {exactQps:F0} | | | | |");
        foreach (var row in rows)
        {
            Console.WriteLine(row);
        }
        return 0;
    }

    // Queries/s and their ratio, and CPU time per query: USearch alone's process, the service's process (its
    // clients run in a child process, as a gateway would) and that client process. The wall-clock rate on a
    // machine shared with other builds moves with their load (and includes the client's CPU, which shares
    // these cores); CPU time per query much less. The CPU ratio is USearch's CPU per query ÷ the service's.
    private static string Row(string engine, int ef, Measurement m, Measurement? baseline, bool bold = false)
    {
        var ratio = baseline is { } b ? (bold ? $"**{m.Qps / b.Qps:F2}**" : $"{m.Qps / b.Qps:F2}") : "";
        var cpuRatio = baseline is { } c ? $"{c.CpuUsPerQuery / m.CpuUsPerQuery:F2}" : "";
        var client = m.ClientCpuUsPerQuery > 0 ? $"{m.ClientCpuUsPerQuery:F0}" : "";
        return $"| {engine} | {ef} | {m.Recall:F3} | {m.Qps:F0} | {m.CpuUsPerQuery:F0} | {client} | {ratio} | {cpuRatio} |";
    }

    private static Measurement RunUsearch(UsearchIndex index, float[][] queries, int ef, int[][] truth, int threads, Func<ulong, bool>? filter)
    {
        var found = new IReadOnlyCollection<long>[queries.Length];
        var clock = CpuClock.Start();
        Parallel.For(0, queries.Length, new ParallelOptions { MaxDegreeOfParallelism = threads }, q =>
        {
            var keys = new ulong[K];
            var distances = new float[K];
            var n = index.Search(queries[q], ef, keys, distances, filter);
            found[q] = keys.Take(n).Select(k => (long)k).ToArray();
        });
        return clock.Stop(queries.Length, GroundTruth.Recall(truth, found));
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], out var value) ? value : fallback;
    }
}
