using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Retrieval.V1;
using Mesh.Tests.Shared;

namespace Mesh.Retrieval.Tests;

/// <summary>
/// The durability promise, end to end: the built Mesh.Retrieval host runs as a separate process, writers
/// upsert (and replace) points in a loop, the process is killed with SIGKILL at a random moment, and after a
/// restart every acknowledged point is there with its last acknowledged payload, and the index answers.
/// Two kill cycles on one data folder, with snapshots small enough to be taken during the loop, so
/// recovery covers snapshot plus log replay and kills during a snapshot.
/// </summary>
public sealed class CrashRecoveryTests : IDisposable
{
    private const int Dimensions = 16;
    private readonly string _dataPath = Path.Combine(Path.GetTempPath(), "mesh-retrieval-crash", Guid.NewGuid().ToString("N"));

    private int _acknowledgedBatches;

    [Fact]
    public async Task Every_acknowledged_point_survives_sigkill()
    {
        var random = new Random(Environment.TickCount);
        var acknowledged = new Dictionary<ulong, (float[] Vector, double Version)>();
        var inFlight = new Dictionary<ulong, double>();
        for (var cycle = 0; cycle < 2; cycle++)
        {
            using var server = await HostProcess.StartAsync(_dataPath);
            var client = server.Client;
            if (cycle == 0)
            {
                await client.CreateCollectionAsync(new CreateCollectionRequest
                {
                    Name = "orders", Dimensions = Dimensions, Metric = Metric.Cosine,
                    PayloadIndexes = { new PayloadIndex { Field = "writer", Kind = PayloadIndexKind.Keyword } },
                });
            }
            else
            {
                await VerifyAsync(client, acknowledged, inFlight);
            }

            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 2).Select(w => Task.Run(() => WriteLoopAsync(client, w, cycle, acknowledged, inFlight, () => Interlocked.Increment(ref _acknowledgedBatches), stop.Token))).ToArray();
            // Kill at a random moment once writes are flowing (the first calls of a fresh process are slow).
            var flowing = _acknowledgedBatches + 10;
            var patience = DateTime.UtcNow.AddSeconds(60);
            while (Volatile.Read(ref _acknowledgedBatches) < flowing && DateTime.UtcNow < patience)
            {
                await Task.Delay(20);
            }
            await Task.Delay(random.Next(0, 1000));
            server.Kill();
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }
        using (var server = await HostProcess.StartAsync(_dataPath))
        {
            await VerifyAsync(server.Client, acknowledged, inFlight);
        }
        Assert.True(acknowledged.Count > 100, $"only {acknowledged.Count} points were acknowledged before the kills");
    }

    private static async Task WriteLoopAsync(
        RetrievalService.RetrievalServiceClient client, int writer, int cycle,
        Dictionary<ulong, (float[] Vector, double Version)> acknowledged, Dictionary<ulong, double> inFlight, Action onAcknowledged, CancellationToken stop)
    {
        var random = new Random(writer * 1000 + cycle);
        var version = cycle * 1_000_000.0;
        while (!stop.IsCancellationRequested)
        {
            var batch = new UpsertRequest { Collection = "orders" };
            var sent = new List<(ulong Id, float[] Vector, double Version)>();
            var size = random.Next(1, 20);
            var ids = new HashSet<ulong>();
            for (var i = 0; i < size; i++)
            {
                // Each writer owns ids ≡ writer (mod 2); ids repeat across batches, so replacements are covered.
                var id = (ulong)(random.Next(0, 1500) * 2 + writer);
                if (!ids.Add(id))
                {
                    continue;
                }
                var vector = TestData.RandomVectors(1, Dimensions, random.Next())[0];
                version++;
                sent.Add((id, vector, version));
                batch.Points.Add(TestData.Point(id, vector, new Struct
                {
                    Fields = { ["version"] = Value.ForNumber(version), ["writer"] = Value.ForString($"w{writer}") },
                }));
            }
            lock (inFlight)
            {
                foreach (var (id, _, v) in sent)
                {
                    inFlight[id] = v;
                }
            }
            try
            {
                await client.UpsertAsync(batch, cancellationToken: CancellationToken.None);
            }
            catch (RpcException)
            {
                return; // the server died: this batch may or may not have been made durable
            }
            lock (inFlight)
            {
                foreach (var (id, vector, v) in sent)
                {
                    acknowledged[id] = (vector, v);
                    inFlight.Remove(id);
                }
            }
            onAcknowledged();
        }
    }

    private static async Task VerifyAsync(
        RetrievalService.RetrievalServiceClient client, Dictionary<ulong, (float[] Vector, double Version)> acknowledged, Dictionary<ulong, double> inFlight)
    {
        var ids = acknowledged.Keys.Concat(inFlight.Keys).Distinct().ToList();
        var found = new Dictionary<ulong, RetrievedPoint>();
        foreach (var chunk in ids.Chunk(1000))
        {
            var got = await client.GetAsync(new GetRequest { Collection = "orders", Ids = { chunk.Select(i => new PointId { Num = i }) }, WithVector = true });
            foreach (var point in got.Points)
            {
                found[point.Id.Num] = point;
            }
        }
        foreach (var (id, (vector, version)) in acknowledged)
        {
            Assert.True(found.TryGetValue(id, out var point), $"acknowledged point {id} is missing after the crash");
            var stored = point.Payload.Fields["version"].NumberValue;
            // The last acknowledged version, or a newer one whose write was in flight at the kill.
            Assert.True(stored == version || (inFlight.TryGetValue(id, out var pending) && stored == pending),
                $"point {id} has version {stored}; acknowledged {version}");
            if (stored == version)
            {
                Assert.Equal(vector, point.Vector.Values);
            }
        }
        // Adopt what survived of the in-flight writes, so the next cycle checks against the recovered state.
        foreach (var (id, pending) in inFlight)
        {
            if (found.TryGetValue(id, out var point) && point.Payload.Fields["version"].NumberValue == pending)
            {
                acknowledged[id] = ([.. point.Vector.Values], pending);
            }
        }
        inFlight.Clear();

        // The index answers: a stored vector finds its own point first.
        var probe = acknowledged.First();
        var hits = await client.SearchAsync(new SearchRequest { Collection = "orders", Vector = new Vector { Values = { probe.Value.Vector } }, Limit = 1 });
        Assert.Equal(probe.Key, hits.Points[0].Id.Num);
        var info = await client.DescribeCollectionAsync(new DescribeCollectionRequest { Name = "orders" });
        Assert.Equal((ulong)found.Count, info.PointsCount);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dataPath))
        {
            Directory.Delete(_dataPath, recursive: true);
        }
    }

    /// <summary>The built host (Mesh.Retrieval.dll beside the test assembly) as a child process.</summary>
    private sealed class HostProcess : IDisposable
    {
        private readonly Process _process;
        private readonly GrpcChannel _channel;

        private HostProcess(Process process, GrpcChannel channel)
        {
            _process = process;
            _channel = channel;
            Client = new RetrievalService.RetrievalServiceClient(channel);
        }

        public RetrievalService.RetrievalServiceClient Client { get; }

        public static async Task<HostProcess> StartAsync(string dataPath)
        {
            var port = LoopbackPort.Free();
            var start = new ProcessStartInfo("dotnet")
            {
                ArgumentList =
                {
                    Path.Combine(AppContext.BaseDirectory, "Mesh.Retrieval.dll"),
                    $"--Mesh:Endpoints:Grpc=http://127.0.0.1:{port}",
                    "--Mesh:Endpoints:Http=",
                    $"--Retrieval:DataPath={dataPath}",
                    "--Retrieval:SnapshotAfterLogBytes=100000",
                    "--Logging:LogLevel:Default=Warning",
                },
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the host");
            process.ErrorDataReceived += (_, _) => { };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
            var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var host = new HostProcess(process, channel);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                try
                {
                    await host.Client.ListCollectionsAsync(new ListCollectionsRequest());
                    return host;
                }
                catch (RpcException) when (DateTime.UtcNow < deadline && !process.HasExited)
                {
                    await Task.Delay(100);
                }
            }
        }

        /// <summary>SIGKILL: no shutdown hooks, no final snapshot, no flush.</summary>
        public void Kill()
        {
            _process.Kill(entireProcessTree: false);
            _process.WaitForExit();
        }

        public void Dispose()
        {
            _channel.Dispose();
            if (!_process.HasExited)
            {
                Kill();
            }
            _process.Dispose();
        }
    }
}
