using Google.Protobuf.WellKnownTypes;
using Mesh.Retrieval.Collections;
using Mesh.Retrieval.Embedding;
using Mesh.Retrieval.Services;
using Mesh.Retrieval.Sparse;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>The BM25 tokenizer, index and reciprocal rank fusion, checked against hand-computed values.</summary>
public sealed class Bm25Tests
{
    [Fact]
    public void Tokenizer_lowercases_splits_and_keeps_codes_with_digits_whole()
    {
        // A code (a chain holding a digit): its parts with digits, then the whole; "e-mail" has none and is only split.
        Assert.Equal(
            ["trailrunner", "2", "1042", "sku-1042", "v1", "2", "v1.2", "e", "mail", "7", "foo_7"],
            Bm25Tokenizer.Tokenize("Trailrunner 2 (SKU-1042), v1.2; e-mail FOO_7."));
        Assert.Empty(Bm25Tokenizer.Tokenize(" -- !! "));
        Assert.Equal(Bm25Tokenizer.MaxTokenLength, Bm25Tokenizer.Tokenize(new string('a', 10_000)).Single().Length);
    }

    [Fact]
    public void Bm25_scores_match_the_formula_and_the_exact_code_outranks_its_sibling()
    {
        var index = new Bm25Index(1.2, 0.75);
        var records = new[] { Record(1, "red shoe"), Record(2, "blue boot") };
        foreach (var record in records)
        {
            index.Add(record);
        }
        // N = 2, n(red) = 1: idf = ln(1 + 1.5 / 1.5) = ln 2; |D| = avgdl = 2, tf = 1: 2.2 / (1 + 1.2) = 1.
        var hit = Assert.Single(index.Search("red", 10, null, null, k => records.FirstOrDefault(r => r.Key == k)));
        Assert.Equal(1UL, hit.Point.Key);
        Assert.Equal(Math.Log(2), hit.Score, 5);

        var catalogue = new Bm25Index(1.2, 0.75);
        var products = new[] { Record(1, "Trail shoe SKU-1043"), Record(2, "Trail shoe SKU-1042"), Record(3, "Rain jacket") };
        foreach (var record in products)
        {
            catalogue.Add(record);
        }
        // The exact code matches only its product; the sibling SKU-1043 shares no token with it.
        Assert.Equal([2UL], catalogue.Search("SKU-1042", 10, null, null, k => products.FirstOrDefault(r => r.Key == k)).Select(h => h.Point.Key));
        Assert.Equal([2UL], catalogue.Search("do you have 1042?", 10, null, null, k => products.FirstOrDefault(r => r.Key == k)).Select(h => h.Point.Key));
        var hits = catalogue.Search("trail shoe 1043", 10, null, null, k => products.FirstOrDefault(r => r.Key == k));
        Assert.Equal([1UL, 2UL], hits.Select(h => h.Point.Key));
        Assert.True(hits[0].Score > hits[1].Score);

        catalogue.Remove(products[1]);
        Assert.Empty(catalogue.Search("sku-1042", 10, null, null, k => products.FirstOrDefault(r => r.Key == k)));
    }

    [Fact]
    public void Reciprocal_rank_fusion_orders_by_the_sum_of_reciprocal_ranks_with_k_60()
    {
        PointRecord a = Record(1, ""), b = Record(2, ""), c = Record(3, ""), d = Record(4, ""), e = Record(5, "");
        List<SearchHit> dense = [Hit(a), Hit(b), Hit(c), Hit(d)];
        List<SearchHit> sparse = [Hit(d), Hit(c), Hit(e)];
        // D: 1/64 + 1/61 = 0.032018; C: 1/63 + 1/62 = 0.032002; A: 1/61 = 0.016393; B: 1/62 = 0.016129; E: 1/63 = 0.015873.
        var fused = ReciprocalRankFusion.Fuse([dense, sparse], 5);
        Assert.Equal([d, c, a, b, e], fused.Select(h => h.Point));
        Assert.Equal(1.0 / 64 + 1.0 / 61, fused[0].Score, 6);
        Assert.Equal(1.0 / 63 + 1.0 / 62, fused[1].Score, 6);
        Assert.Equal(1.0 / 63, fused[4].Score, 6);
        Assert.Equal([d, c], ReciprocalRankFusion.Fuse([dense, sparse], 2).Select(h => h.Point));

        static SearchHit Hit(PointRecord point) => new(point, 0.5f);
    }

    [Fact]
    public void Collection_config_fills_bm25_defaults_and_refuses_bad_parameters()
    {
        var embedders = new Dictionary<string, ITextEmbedder>();
        var config = CollectionConfig.Normalize(CollectionConfigMapping.ToConfig(new CreateCollectionRequest { Name = "c", Dimensions = 4, Metric = Metric.Cosine, Bm25 = new Bm25Params() }), embedders);
        Assert.Equal(1.2f, config.Bm25!.K1);
        Assert.Equal(0.75f, config.Bm25.B);
        var error = Assert.Throws<RetrievalException>(() => CollectionConfig.Normalize(
            CollectionConfigMapping.ToConfig(new CreateCollectionRequest { Name = "c", Dimensions = 4, Metric = Metric.Cosine, Bm25 = new Bm25Params { B = 2 } }), embedders));
        Assert.Contains("bm25.b", error.Message);
    }

    private static PointRecord Record(ulong key, string text) =>
        new(key, new PointKey(key, null), [1, 0, 0, 0], new Struct(), new Filtering.IndexedValues([], []), text, Bm25Document.From([text]));
}
