using Grpc.Core;
using Mesh.Retrieval.Collections;
using Mesh.Retrieval.V1;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Retrieval.Tests;

/// <summary>
/// Snapshots are written by a background worker (issue 10, item 12): the upsert that crosses
/// <c>SnapshotAfterLogBytes</c>, and every write after it, return while the snapshot writer is held at a
/// gate, and a crash at that moment (the data folder copied while the writer is held) loses nothing.
/// </summary>
public sealed class BackgroundSnapshotTests : IDisposable
{
    private readonly string _dataPath = Path.Combine(Path.GetTempPath(), "mesh-retrieval-bgsnap", Guid.NewGuid().ToString("N"));
    private readonly string _crashCopy = Path.Combine(Path.GetTempPath(), "mesh-retrieval-bgsnap", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Writers_never_wait_for_the_snapshot_and_a_crash_mid_snapshot_loses_nothing()
    {
        var vectors = TestData.RandomVectors(400, 16, seed: 33);
        var snapshotHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var next = 0;
        await using (var server = await RetrievalServer.StartAsync(_dataPath, "--Retrieval:SnapshotAfterLogBytes=10000"))
        {
            server.Services.GetRequiredService<SnapshotHooks>().BeforeManifest = _ =>
            {
                snapshotHeld.TrySetResult();
                return release.Task;
            };
            try
            {
            await server.Client.CreateCollectionAsync(new CreateCollectionRequest { Name = "c", Dimensions = 16, Metric = Metric.Cosine });

            // 20 points per upsert (~1.8 kB of log each): the threshold is crossed by the sixth upsert; the worker
            // reaches the gate soon after (the writes meanwhile do not wait for it either).
            while (!snapshotHeld.Task.IsCompleted)
            {
                Assert.True(next < 300, "no snapshot started although the log passed SnapshotAfterLogBytes");
                await UpsertAsync(server, vectors, next, 20); // the crossing upsert returns with the writer held
                next += 20;
            }
            // Writes go on while the snapshot writer is held, including past the threshold again.
            for (var i = 0; i < 5; i++)
            {
                await UpsertAsync(server, vectors, next, 20);
                next += 20;
            }
            await UpsertAsync(server, vectors, 0, 10, replace: true);

            // A crash now: the snapshot's data files are written, its manifest is not.
            CopyFolder(_dataPath, _crashCopy);
            release.TrySetResult();
            await server.Services.GetRequiredService<CollectionManager>().Get("default", "c").WhenSnapshotIdleAsync();
            Assert.True(File.Exists(Path.Combine(_dataPath, "default", "c", "snapshot.manifest")));

            await using var restarted = await RetrievalServer.StartAsync(_crashCopy);
            await AssertPointsAsync(restarted, vectors, next);
            }
            finally
            {
                release.TrySetResult(); // a failed assertion must not leave the host's shutdown waiting on the gate
            }
        }
        // And after a clean stop with the background snapshot done.
        await using (var server = await RetrievalServer.StartAsync(_dataPath))
        {
            await AssertPointsAsync(server, vectors, next);
        }
    }

    public void Dispose()
    {
        foreach (var path in new[] { _dataPath, _crashCopy })
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
    }

    private static async Task UpsertAsync(RetrievalServer server, float[][] vectors, int from, int count, bool replace = false)
    {
        var request = new UpsertRequest { Collection = "c" };
        for (var i = from; i < from + count; i++)
        {
            // A replaced point gets the vector of point i + 200, so the test can tell the versions apart.
            request.Points.Add(TestData.Point((ulong)i, replace ? vectors[i + 200] : vectors[i]));
        }
        // A writer that waited for the held snapshot would run into this deadline instead of hanging the test.
        await server.Client.UpsertAsync(request, deadline: DateTime.UtcNow.AddSeconds(60));
    }

    private static async Task AssertPointsAsync(RetrievalServer server, float[][] vectors, int count)
    {
        var got = await server.Client.GetAsync(new GetRequest
        {
            Collection = "c", Ids = { Enumerable.Range(0, count).Select(i => new PointId { Num = (ulong)i }) }, WithVector = true,
        });
        Assert.Equal(count, got.Points.Count);
        foreach (var point in got.Points)
        {
            var i = (int)point.Id.Num;
            Assert.Equal(i < 10 ? vectors[i + 200] : vectors[i], point.Vector.Values);
        }
        var hits = await server.Client.SearchAsync(new SearchRequest { Collection = "c", Vector = new Vector { Values = { vectors[count - 1] } }, Limit = 1 });
        Assert.Equal((ulong)(count - 1), hits.Points[0].Id.Num);
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(directory.Replace(from, to, StringComparison.Ordinal));
        }
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, file.Replace(from, to, StringComparison.Ordinal));
        }
    }
}
