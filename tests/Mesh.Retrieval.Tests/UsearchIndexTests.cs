using Mesh.Retrieval.Native;

namespace Mesh.Retrieval.Tests;

/// <summary>The typed layer over the USearch C API closes the gaps of the package's managed wrapper.</summary>
public sealed class UsearchIndexTests
{
    private static UsearchIndexOptions Options(int concurrency = 4) =>
        new(8, UsearchNative.MetricKind.L2Squared, UsearchNative.ScalarKind.F32, 16, 64, 32, concurrency);

    [Fact]
    public void Growing_adds_and_more_searches_in_flight_than_contexts_run_concurrently_without_failure()
    {
        using var index = UsearchIndex.Create(Options(concurrency: 2));
        var vectors = TestData.RandomVectors(6000, 8, seed: 1);
        // 8 workers on 2 native contexts: half add (forcing several reserves), half search.
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
        {
            var keys = new ulong[5];
            var distances = new float[5];
            for (var i = worker; i < vectors.Length; i += 8)
            {
                if (worker % 2 == 0)
                {
                    index.Add((ulong)i, vectors[i]);
                }
                else
                {
                    index.Search(vectors[i], 0, keys, distances);
                }
            }
        });
        Assert.Equal(3000, index.Count);
    }

    [Fact]
    public void A_short_vector_is_rejected_before_it_reaches_native_code()
    {
        using var index = UsearchIndex.Create(Options());
        Assert.Throws<ArgumentException>(() => index.Add(1, new float[7]));
        Assert.Throws<ArgumentException>(() => index.Search(new float[3], 0, new ulong[1], new float[1]));
    }

    [Fact]
    public void Filtered_search_only_returns_admitted_keys_and_fills_k()
    {
        using var index = UsearchIndex.Create(Options());
        var vectors = TestData.RandomVectors(2000, 8, seed: 2);
        for (var i = 0; i < vectors.Length; i++)
        {
            index.Add((ulong)i, vectors[i]);
        }
        var keys = new ulong[10];
        var distances = new float[10];
        var found = index.Search(vectors[0], 200, keys, distances, key => key % 10 == 3);
        Assert.Equal(10, found);
        Assert.All(keys, k => Assert.Equal(3UL, k % 10));
    }

    [Fact]
    public void Save_and_load_keep_vectors_and_the_settings_that_usearch_would_drop()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mesh-usearch-{Guid.NewGuid():N}.usearch");
        var vectors = TestData.RandomVectors(500, 8, seed: 3);
        try
        {
            using (var index = UsearchIndex.Create(Options()))
            {
                for (var i = 0; i < vectors.Length; i++)
                {
                    index.Add((ulong)i, vectors[i]);
                }
                index.Save(path);
            }
            using var loaded = UsearchIndex.Load(Options(), path);
            Assert.Equal(500, loaded.Count);
            var keys = new ulong[1];
            var distances = new float[1];
            Assert.Equal(1, loaded.Search(vectors[42], 0, keys, distances));
            Assert.Equal(42UL, keys[0]);
            loaded.Add(1000, vectors[0]); // capacity and thread contexts were restored after the load
            Assert.True(loaded.Remove(1000));
            Assert.Equal(500, loaded.Count);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
