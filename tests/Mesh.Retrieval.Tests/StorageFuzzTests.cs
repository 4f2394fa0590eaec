using Google.Protobuf.WellKnownTypes;
using Mesh.Retrieval.Collections;
using Mesh.Retrieval.Embedding;
using Mesh.Retrieval.Services;
using Mesh.Retrieval.Storage;
using Mesh.Retrieval.Storage.Records;
using Mesh.Retrieval.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Retrieval.Tests;

/// <summary>
/// The write-ahead-log and snapshot readers take untrusted files (issue 10, must-show): thousands of seeded
/// mutations of real files (bit flips, truncations, changed length fields, inserted or repeated bytes,
/// garbage bodies with matching checksums) each either read back intact records or are refused with
/// <see cref="InvalidDataException"/>, never a crash, a hang or an allocation out of proportion to the file.
/// </summary>
public sealed class StorageFuzzTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mesh-retrieval-fuzz", Guid.NewGuid().ToString("N"));

    public StorageFuzzTests() => Directory.CreateDirectory(_folder);

    [Fact]
    public void Mutated_logs_yield_a_prefix_of_the_written_records_and_stay_appendable()
    {
        var path = Path.Combine(_folder, "wal.log");
        var written = new List<WalRecord>();
        using (var log = WriteAheadLog.Open(path, out _, out _))
        {
            for (var i = 1; i <= 12; i++)
            {
                var record = Record((ulong)i);
                log.Append(record);
                written.Add(record);
            }
        }
        var original = File.ReadAllBytes(path);
        var random = new Random(1234);
        // 2,000 rounds: each repairs and appends with fsyncs, so more would mostly measure the disk.
        for (var iteration = 0; iteration < 2000; iteration++)
        {
            var mutated = FileMutator.Mutate(original, random, out var reframed);
            File.WriteAllBytes(path, mutated);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            using (var log = WriteAheadLog.Open(path, out var records, out _))
            {
                Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 8L * mutated.Length + (1 << 20), $"iteration {iteration}: allocation out of proportion");
                if (!reframed)
                {
                    // Checksums let no damaged record through: everything read back was written (a repeated
                    // frame can come back twice; recovery skips it by sequence).
                    Assert.All(records, r => Assert.Contains(r, written));
                }
                log.Append(Record(99));
            }
            using (WriteAheadLog.Open(path, out var again, out var truncated))
            {
                Assert.Equal(0, truncated); // the repaired log plus one append is intact
                Assert.Equal(99UL, again[^1].Sequence);
            }
        }
    }

    [Fact]
    public void Mutated_points_files_are_read_exactly_or_refused_as_damaged()
    {
        var path = Path.Combine(_folder, "points-1.dat");
        var points = Enumerable.Range(1, 30).Select(i => Record((ulong)i).Upsert.Points[0]).ToList();
        SnapshotFiles.WritePoints(path, points);
        var original = File.ReadAllBytes(path);
        var random = new Random(4321);
        int read = 0, refused = 0;
        for (var iteration = 0; iteration < 3000; iteration++)
        {
            var mutated = FileMutator.Mutate(original, random);
            File.WriteAllBytes(path, mutated);
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                var back = SnapshotFiles.ReadPoints(path, (ulong)points.Count);
                Assert.Equal(points.Count, back.Count);
                read++;
            }
            catch (InvalidDataException exception)
            {
                Assert.Contains(path, exception.Message);
                refused++;
            }
            // The reader's fixed 1 MiB file buffer plus a bounded multiple of the file: never what a length field claims.
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 8L * mutated.Length + (2 << 20), $"iteration {iteration}: allocation out of proportion");
        }
        Assert.True(refused > 2000, $"{refused} of 3000 mutations refused");
        Assert.True(read + refused == 3000);
    }

    [Fact]
    public async Task Mutated_collection_folders_open_consistently_or_are_refused_with_a_clear_error()
    {
        var source = Path.Combine(_folder, "source");
        var options = new RetrievalOptions { IndexConcurrency = 2 };
        var embedders = new Dictionary<string, ITextEmbedder>();
        var config = CollectionConfig.Normalize(CollectionConfigMapping.ToConfig(new CreateCollectionRequest
        {
            Name = "fuzz", Dimensions = 8, Metric = Metric.Cosine, PayloadIndexes = { new V1.PayloadIndex { Field = "k", Kind = PayloadIndexKind.Keyword } },
        }), embedders);
        var vectors = TestData.RandomVectors(60, 8, seed: 2);
        using (var collection = Collection.Create(source, "default", config, options, new SnapshotHooks(), NullLogger.Instance))
        {
            await UpsertAsync(collection, vectors, 0, 30);
            await collection.SnapshotAsync(CancellationToken.None);
            await UpsertAsync(collection, vectors, 30, 45);
            await collection.SnapshotAsync(CancellationToken.None);
            await UpsertAsync(collection, vectors, 45, 60);
            await collection.DeleteAsync([new PointKey(3, null)], null, CancellationToken.None);
        }
        var files = Directory.GetFiles(source).Select(Path.GetFileName).ToArray();
        Assert.Contains("snapshot.manifest", files);
        Assert.Contains(files, f => f!.StartsWith("wal-", StringComparison.Ordinal));

        var random = new Random(777);
        int opened = 0, refused = 0;
        for (var iteration = 0; iteration < 400; iteration++)
        {
            var copy = Path.Combine(_folder, $"copy{iteration}");
            Directory.CreateDirectory(copy);
            foreach (var file in files)
            {
                File.Copy(Path.Combine(source, file!), Path.Combine(copy, file!));
            }
            var victim = Path.Combine(copy, files[random.Next(files.Length)]!);
            File.WriteAllBytes(victim, FileMutator.Mutate(File.ReadAllBytes(victim), random));
            try
            {
                using var collection = Collection.Open(copy, options, embedders, new SnapshotHooks(), NullLogger.Instance);
                // Opened: every acknowledged point is there and search answers. Damage at the end of the
                // active log is indistinguishable from a write torn by a crash (never acknowledged), so only
                // there may the collection come back shorter.
                if (Path.GetFileName(victim) == "wal.log")
                {
                    Assert.InRange(collection.Count, 45, 60);
                }
                else
                {
                    Assert.Equal(59, collection.Count);
                }
                var hits = collection.Search(vectors[10], 3, null, 0, exact: false, threshold: null);
                Assert.Equal(new PointKey(10, null), hits[0].Point.Id);
                Assert.All(hits, h => Assert.True(float.IsFinite(h.Score)));
                opened++;
            }
            catch (InvalidDataException exception)
            {
                Assert.False(string.IsNullOrWhiteSpace(exception.Message));
                refused++;
            }
            Directory.Delete(copy, recursive: true);
        }
        Assert.Equal(400, opened + refused);
        Assert.True(opened > 0 && refused > 0, $"{opened} opened, {refused} refused");
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static async Task UpsertAsync(Collection collection, float[][] vectors, int from, int to) =>
        await collection.UpsertAsync(
            [.. Enumerable.Range(from, to - from).Select(i => (new PointKey((ulong)i, null), vectors[i], new Struct { Fields = { ["k"] = Value.ForString("v" + (i % 4)) } }, ""))],
            CancellationToken.None);

    private static WalRecord Record(ulong sequence)
    {
        var point = new StoredPoint { Key = sequence, Id = new PointId { Num = sequence }, Payload = new Struct { Fields = { ["n"] = Value.ForNumber(sequence) } } };
        point.Vector.Add(Enumerable.Range(0, 8).Select(i => (float)(i + (int)sequence)));
        return new WalRecord { Sequence = sequence, Upsert = new UpsertOperation { Points = { point } } };
    }
}
