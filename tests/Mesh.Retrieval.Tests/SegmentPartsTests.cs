using Google.Protobuf.WellKnownTypes;
using Mesh.Retrieval.Collections;
using Mesh.Retrieval.Embedding;
using Mesh.Retrieval.Filtering;
using Mesh.Retrieval.Services;
using Mesh.Retrieval.Storage.Records;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>
/// Unit tests of a segment's parts (issue 11), without a host: the id tracker, the payload index, the
/// vector index, the search planner, and the segment that applies logged operations to all of them.
/// </summary>
public sealed class SegmentPartsTests
{
    private static readonly CollectionConfig Config = CollectionConfig.Normalize(CollectionConfigMapping.ToConfig(new CreateCollectionRequest
    {
        Name = "parts", Dimensions = 4, Metric = Metric.Cosine,
        PayloadIndexes = { new V1.PayloadIndex { Field = "color", Kind = PayloadIndexKind.Keyword }, new V1.PayloadIndex { Field = "n", Kind = PayloadIndexKind.Numeric } },
    }), new Dictionary<string, ITextEmbedder>());

    [Fact]
    public void IdTracker_gives_a_replaced_id_a_new_key_and_retires_the_old_one()
    {
        var ids = new IdTracker();
        var payloads = new Collections.PayloadIndex(Config.PayloadIndexes);
        var first = new PointRecord(1, new PointKey(7, null), [1, 0, 0, 0], new Struct(), payloads.Extract(new Struct()));
        ids.Add(first);
        Assert.Same(first, ids.Get(new PointKey(7, null)));
        Assert.Null(ids.Get(new PointKey(0, "7"))); // 7 and "7" are different points
        Assert.Equal(2UL, ids.NextKey);

        Assert.Same(first, ids.Remove(new PointKey(7, null)));
        var second = new PointRecord(2, new PointKey(7, null), [0, 1, 0, 0], new Struct(), payloads.Extract(new Struct()));
        ids.Add(second);
        Assert.Null(ids.ByKey(1)); // a search that found the old key skips it
        Assert.Same(second, ids.ByKey(2));
        Assert.Equal(1, ids.Count);
        ids.RestoreNextKey(1);
        Assert.Equal(3UL, ids.NextKey); // a key counter never goes back
    }

    [Fact]
    public void Filter_expressions_compile_without_contract_types_and_keep_the_limits()
    {
        var payloads = new Collections.PayloadIndex(Config.PayloadIndexes);
        var payload = new Struct { Fields = { ["color"] = Value.ForString("red"), ["n"] = Value.ForNumber(3) } };
        var values = payloads.Extract(payload);
        FilterExpression redAndSmall = new BooleanExpression(
            [new MatchExpression("color", [PayloadSchema.Keyword("red"), PayloadSchema.Keyword("blue")], "match_any")],
            [],
            [new RangeExpression("n", Gt: 5, Gte: null, Lt: null, Lte: null)]);
        Assert.True(payloads.Compile(redAndSmall).Matches(values));
        FilterExpression large = new BooleanExpression([new RangeExpression("n", null, 4, null, null)], [], []);
        Assert.False(payloads.Compile(large).Matches(values));

        FilterExpression deep = new BooleanExpression([new MatchExpression("color", [PayloadSchema.Keyword("red")], "match")], [], []);
        for (var i = 0; i < CompiledFilter.MaxDepth; i++)
        {
            deep = new BooleanExpression([deep], [], []);
        }
        Assert.Contains("nested deeper", Assert.Throws<RetrievalException>(() => payloads.Compile(deep)).Message);
        Assert.Contains("no conditions", Assert.Throws<RetrievalException>(() => payloads.Compile(new BooleanExpression([], [], []))).Message);
        Assert.Contains("needs a Keyword index", Assert.Throws<RetrievalException>(() => payloads.Compile(
            new BooleanExpression([new MatchExpression("n", [PayloadSchema.Keyword(3L)], "match")], [], []))).Message);
    }

    [Fact]
    public void PayloadIndex_extracts_declared_fields_and_bounds_keyword_filters_by_posting_size()
    {
        var payloads = new Collections.PayloadIndex(Config.PayloadIndexes);
        for (ulong key = 1; key <= 10; key++)
        {
            var payload = new Struct { Fields = { ["color"] = Value.ForString(key <= 3 ? "red" : "blue"), ["n"] = Value.ForNumber(key) } };
            payloads.Add(new PointRecord(key, new PointKey(key, null), [1, 0, 0, 0], payload, payloads.Extract(payload)));
        }
        var red = payloads.Compile(Services.ProtoMapping.ToFilter(new Filter { Must = { TestData.Field(TestData.Match("color", "red")) } }));
        Assert.Equal(3, red.UpperBound(payloads.Postings));
        Assert.Equal([1UL, 2UL, 3UL], red.Candidates(payloads.Postings).Order());
        var range = payloads.Compile(Services.ProtoMapping.ToFilter(new Filter { Must = { TestData.Field(new FieldCondition { Key = "n", Range = new V1.Range { Gte = 5 } }) } }));
        Assert.Null(range.UpperBound(payloads.Postings)); // numeric ranges have no postings: the planner scans
        var error = Assert.Throws<RetrievalException>(() => payloads.Compile(Services.ProtoMapping.ToFilter(new Filter { Must = { TestData.Field(TestData.Match("size", "L")) } })));
        Assert.Contains("no payload index", error.Message);
    }

    [Fact]
    public void VectorIndex_normalises_cosine_and_refuses_what_the_storage_cannot_hold()
    {
        using var vectors = VectorIndex.Create(Config, concurrency: 2);
        vectors.Add(1, [100000, 0, 0, 0]);
        vectors.Add(2, [0, 1e-30f, 0, 0]);
        var keys = new ulong[2];
        var distances = new float[2];
        Assert.Equal(2, vectors.Search(vectors.Prepare([1e-30f, 0, 0, 0]), 0, keys, distances, null));
        Assert.Equal(1UL, keys[0]);
        Assert.Equal(1, vectors.Score(distances[0]), 0.002);
        Assert.Equal(0, vectors.Score(distances[1]), 0.002);
        Assert.Equal(1, vectors.Score(vectors.Distance(vectors.Prepare([3e38f, 0, 0, 0]), [1e-30f, 0, 0, 0], new float[4])), 1e-6);

        Assert.Null(VectorIndex.Refusal([100000, 0], DistanceMetric.Cosine, VectorStorage.F16));
        Assert.Contains("zero vector", VectorIndex.Refusal([0, 0], DistanceMetric.Cosine, VectorStorage.F16));
        Assert.Contains("component 1", VectorIndex.Refusal([1, 70000], DistanceMetric.L2, VectorStorage.F16));
        Assert.Null(VectorIndex.Refusal([1, 65504], DistanceMetric.InnerProduct, VectorStorage.F16));
        Assert.Null(VectorIndex.Refusal([1, 70000], DistanceMetric.L2, VectorStorage.F32));
        Assert.Contains("component 0", VectorIndex.Refusal([1e18f, 0], DistanceMetric.InnerProduct, VectorStorage.F32));
        Assert.Contains("finite", VectorIndex.Refusal([float.NaN], DistanceMetric.L2, VectorStorage.F32));
    }

    [Fact]
    public void SearchPlanner_ranks_few_matching_points_exactly_and_many_through_the_filtered_graph()
    {
        using var segment = Segment.Create(Config, concurrency: 2, exactSearchThreshold: 5);
        var vectors = TestData.RandomVectors(200, 4, seed: 11);
        segment.Apply(Upsert(1, 1, vectors, i => i < 4 ? "red" : "blue"));
        var query = vectors[0];
        foreach (var color in new[] { "red", "blue" }) // 4 red points: exact; 196 blue: graph walk with the filter
        {
            var filter = segment.Payloads.Compile(Services.ProtoMapping.ToFilter(new Filter { Must = { TestData.Field(TestData.Match("color", color)) } }));
            // ef above the point count: the graph walk sees every node, so its answer is exact too.
            var hits = segment.Planner.Search(query, 3, filter, ef: 256, exact: false, threshold: null);
            var expected = TestData.ExactTopK(vectors, query, 3, i => (i < 4) == (color == "red"));
            Assert.Equal(expected, hits.Select(h => h.Point.Id.Number));
            Assert.Equal(hits.OrderByDescending(h => h.Score).Select(h => h.Point.Id), hits.Select(h => h.Point.Id));
        }
        var above = segment.Planner.Search(query, 10, null, 0, exact: true, threshold: 0.5f);
        Assert.All(above, h => Assert.True(h.Score >= 0.5f));
    }

    [Fact]
    public void Selective_filters_walk_the_graph_with_a_key_set_and_return_the_same_hits_as_the_per_node_predicate()
    {
        using var segment = Segment.Create(Config, concurrency: 2, exactSearchThreshold: 50);
        var vectors = TestData.RandomVectors(2000, 4, seed: 21);
        segment.Apply(Upsert(1, 1, vectors, i => i % 10 == 0 ? "red" : "blue", i => i % 7));
        // Replace 100 points under fresh keys: red ones turn blue and blue ones red, so the postings and the
        // key counter moved on since the first write.
        var replaced = Enumerable.Range(0, 100).Select(j => j * 20 + j % 2).ToArray();
        var update = Upsert(2, 2001, [.. replaced.Select(i => vectors[i])], j => replaced[j] % 10 == 1 ? "red" : "blue", j => replaced[j] % 7);
        for (var j = 0; j < replaced.Length; j++)
        {
            update.Upsert.Points[j].Id = new PointId { Num = (ulong)replaced[j] };
        }
        segment.Apply(update);
        var filters = new[]
        {
            new Filter { Must = { TestData.Field(TestData.Match("color", "red")) } },
            new Filter { Must = { TestData.Field(TestData.Match("color", "red")) }, MustNot = { TestData.Field(new FieldCondition { Key = "n", Range = new V1.Range { Lt = 2 } }) } },
        };
        foreach (var contract in filters)
        {
            var filter = segment.Payloads.Compile(Services.ProtoMapping.ToFilter(contract));
            var bound = filter.UpperBound(segment.Payloads.Postings);
            Assert.True(bound > 50 && bound * SearchPlanner.KeySetSelectivity <= segment.Ids.Count, $"bound {bound}: the filter must take the key-set walk");
            foreach (var query in TestData.RandomVectors(20, 4, seed: 22))
            {
                var hits = segment.Planner.Search(query, 10, filter, ef: 16, exact: false, threshold: null);
                // The walk with the per-node predicate (record lookup + filter tree), at the same ef.
                var keys = new ulong[10];
                var distances = new float[10];
                var found = segment.Vectors.Search(segment.Vectors.Prepare(query), 16, keys, distances,
                    key => segment.Ids.ByKey(key) is { } r && filter.Matches(r.Values));
                Assert.Equal(keys.Take(found).Select(k => segment.Ids.ByKey(k)!.Id.Number), hits.Select(h => h.Point.Id.Number));
                Assert.Equal(distances.Take(found).Select(segment.Vectors.Score), hits.Select(h => h.Score));
                Assert.All(hits, h => Assert.True(filter.Matches(h.Point.Values)));
            }
        }
    }

    [Fact]
    public void A_repeated_filter_reuses_its_key_set_until_a_write_and_then_admits_exactly_the_new_matches()
    {
        using var segment = Segment.Create(Config, concurrency: 2, exactSearchThreshold: 50);
        var vectors = TestData.RandomVectors(2000, 4, seed: 31);
        segment.Apply(Upsert(1, 1, vectors, i => i % 10 == 0 ? "red" : "blue"));
        // Compiled twice, as two requests would be: the same key, so the second search reuses the first's set.
        FilterExpression Red() => new BooleanExpression([new MatchExpression("color", [PayloadSchema.Keyword("red")], "match")], [], []);
        var first = segment.Payloads.Compile(Red());
        var second = segment.Payloads.Compile(Red());
        Assert.Equal(first.Key, second.Key);
        Assert.NotEqual(first.Key, segment.Payloads.Compile(
            new BooleanExpression([new MatchExpression("color", [PayloadSchema.Keyword("blue")], "match")], [], [])).Key);
        var builds = 0;
        MatchingKeySet Build(CompiledFilter filter)
        {
            builds++;
            return MatchingKeySet.Build(filter.Candidates(segment.Payloads.Postings), segment.Ids.NextKey,
                key => segment.Ids.ByKey(key) is { } r && filter.Matches(r.Values));
        }
        var cached = segment.Planner.KeySets.GetOrBuild(first, () => Build(first));
        Assert.Same(cached, segment.Planner.KeySets.GetOrBuild(second, () => Build(second)));
        Assert.Equal(1, builds);

        // Recolour in place (same keys: only a fresh set can tell), and replace a red point under a new key.
        var recoloured = Enumerable.Range(0, 50).Select(j => (ulong)(j * 40 + 1)).ToArray(); // blue → red
        var blued = Enumerable.Range(0, 50).Select(j => (ulong)(j * 40)).ToArray(); // red → blue
        segment.Apply(new WalRecord { Sequence = 2, SetPayload = new SetPayloadOperation
        {
            Ids = { recoloured.Select(i => new PointId { Num = i }) }, Payload = new Struct { Fields = { ["color"] = Value.ForString("red") } },
        } });
        segment.Apply(new WalRecord { Sequence = 3, SetPayload = new SetPayloadOperation
        {
            Ids = { blued.Select(i => new PointId { Num = i }) }, Payload = new Struct { Fields = { ["color"] = Value.ForString("blue") } },
        } });
        var moved = Upsert(4, 2001, [vectors[10]], _ => "red");
        moved.Upsert.Points[0].Id = new PointId { Num = 10 };
        segment.Apply(moved);
        var rebuilt = segment.Planner.KeySets.GetOrBuild(second, () => Build(second));
        Assert.NotSame(cached, rebuilt);
        Assert.Equal(2, builds);
        for (ulong key = 1; key <= segment.Ids.NextKey; key++)
        {
            Assert.Equal(segment.Ids.ByKey(key) is { } r && first.Matches(r.Values), rebuilt.Contains(key));
        }
        Assert.True(rebuilt.Contains(2001) && !rebuilt.Contains(11), "the replaced point is admitted under its new key only");

        // The planner's walk admits what the per-node predicate admits after the writes.
        foreach (var query in TestData.RandomVectors(20, 4, seed: 32))
        {
            var hits = segment.Planner.Search(query, 10, second, ef: 16, exact: false, threshold: null);
            var keys = new ulong[10];
            var distances = new float[10];
            var found = segment.Vectors.Search(segment.Vectors.Prepare(query), 16, keys, distances,
                key => segment.Ids.ByKey(key) is { } r && second.Matches(r.Values));
            Assert.Equal(keys.Take(found).Select(k => segment.Ids.ByKey(k)!.Id.Number), hits.Select(h => h.Point.Id.Number));
            Assert.All(hits, h => Assert.Equal("red", h.Point.Payload.Fields["color"].StringValue));
        }
    }

    [Fact]
    public void The_key_set_cache_keeps_to_its_budget()
    {
        var payloads = new Collections.PayloadIndex(Config.PayloadIndexes);
        var cache = new MatchingKeySetCache(maxBytes: 4 * 128 * sizeof(ulong), maxSets: 64); // four sets of 8192 keys
        for (var i = 0; i < 10; i++)
        {
            var filter = payloads.Compile(new BooleanExpression([new MatchExpression("color", [PayloadSchema.Keyword($"c{i}")], "match")], [], []));
            cache.GetOrBuild(filter, () => MatchingKeySet.Build([], 8192, _ => true));
            Assert.InRange(cache.Count, 1, 4);
        }
        var huge = payloads.Compile(new BooleanExpression([new MatchExpression("color", [PayloadSchema.Keyword("huge")], "match")], [], []));
        var set = cache.GetOrBuild(huge, () => MatchingKeySet.Build([1], 1 << 20, _ => true));
        Assert.True(set.Contains(1)); // answered, but too large to keep
        Assert.InRange(cache.Count, 1, 4);
    }

    [Fact]
    public void Segment_applies_replacements_and_deletes_and_refuses_damaged_records_whole()
    {
        using var segment = Segment.Create(Config, concurrency: 2, exactSearchThreshold: 4096);
        var vectors = TestData.RandomVectors(10, 4, seed: 5);
        segment.Apply(Upsert(1, 1, vectors, _ => "red"));
        var replaced = Upsert(2, 11, [vectors[9]], _ => "blue"); // point 0 gets point 9's vector, key 11
        segment.Apply(replaced);
        Assert.Equal(10, segment.Ids.Count);
        Assert.Equal(11UL, segment.Ids.Get(new PointKey(0, null))!.Key);
        Assert.Equal(10, segment.Vectors.Count);
        segment.Apply(new WalRecord { Sequence = 3, Delete = new DeleteOperation { Ids = { new PointId { Num = 1 }, new PointId { Num = 42 } } } });
        Assert.Equal(9, segment.Ids.Count);
        Assert.Equal(9, segment.Vectors.Count);

        // A record reusing a retired key, or with a wrong-length vector, changes nothing.
        var reused = Upsert(4, 5, [vectors[2]], _ => "red");
        Assert.Throws<InvalidDataException>(() => segment.Apply(reused));
        var wrong = Upsert(5, 20, [vectors[2]], _ => "red");
        wrong.Upsert.Points.Add(new StoredPoint { Key = 21, Id = new PointId { Num = 77 }, Vector = { 1, 2 } });
        var error = Assert.Throws<InvalidDataException>(() => segment.Apply(wrong));
        Assert.Contains("2 components", error.Message);
        Assert.Equal(9, segment.Ids.Count);
        Assert.Equal(11UL, segment.Ids.Get(new PointKey(0, null))!.Key);
        Assert.Equal(vectors[2], segment.Ids.Get(new PointKey(2, null))!.Vector);

        using var image = segment.Capture();
        Assert.Equal(9, image.Points.Count);
        Assert.Equal(12UL, image.NextKey);
        Assert.True(image.Index.Length > 0);
    }

    // Points 0..n-1 (vectors[i]) with keys from firstKey, payload color by index.
    private static WalRecord Upsert(ulong sequence, ulong firstKey, float[][] vectors, Func<int, string> color, Func<int, double>? n = null)
    {
        var operation = new UpsertOperation();
        for (var i = 0; i < vectors.Length; i++)
        {
            var point = new StoredPoint { Key = firstKey + (ulong)i, Id = new PointId { Num = (ulong)i }, Payload = new Struct { Fields = { ["color"] = Value.ForString(color(i)) } } };
            if (n is not null)
            {
                point.Payload.Fields["n"] = Value.ForNumber(n(i));
            }
            point.Vector.Add(vectors[i]);
            operation.Points.Add(point);
        }
        return new WalRecord { Sequence = sequence, Upsert = operation };
    }
}
