using Google.Protobuf;
using Mesh.Retrieval.Collections;
using Mesh.Retrieval.Embedding;
using Mesh.Retrieval.Filtering;
using Mesh.Retrieval.Services;
using Mesh.Retrieval.Storage;
using Mesh.Retrieval.Storage.Records;
using Mesh.Retrieval.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Retrieval.Tests;

/// <summary>
/// A collection's definition is an internal <see cref="CollectionConfig"/>, mapped to the contract only in
/// Services/ (issue 11), while the definition file keeps the byte format every earlier release wrote: a
/// <see cref="CollectionDefinition"/> holding a <see cref="CreateCollectionRequest"/>.
/// </summary>
public sealed class CollectionDefinitionTests : IDisposable
{
    private static readonly Dictionary<string, ITextEmbedder> NoEmbedders = [];

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mesh-retrieval-definition", Guid.NewGuid().ToString("N"));

    public CollectionDefinitionTests() => Directory.CreateDirectory(_folder);

    // What the code before issue 11 wrote: the normalised request itself, every default filled in.
    private static CreateCollectionRequest LegacyConfig() => new()
    {
        Name = "legacy", Dimensions = 8, Metric = Metric.InnerProduct,
        Hnsw = new HnswParams { M = 8, EfConstruction = 128, EfSearch = 40 },
        PayloadIndexes = { new V1.PayloadIndex { Field = "lang", Kind = PayloadIndexKind.Keyword }, new V1.PayloadIndex { Field = "year", Kind = PayloadIndexKind.Numeric } },
        Storage = V1.Storage.F32,
        Bm25 = new Bm25Params { TextFields = { "title" }, K1 = 1.5f, B = 0.5f },
    };

    [Fact]
    public void A_definition_file_written_as_a_request_opens_with_its_settings_and_is_rewritten_byte_for_byte()
    {
        var folder = Path.Combine(_folder, "legacy");
        Directory.CreateDirectory(folder);
        var legacy = new CollectionDefinition { Tenant = "acme", Config = LegacyConfig() }.ToByteArray();
        File.WriteAllBytes(Path.Combine(folder, Collection.DefinitionName), legacy);

        using (var collection = Collection.Open(folder, new RetrievalOptions { IndexConcurrency = 2 }, NoEmbedders, new SnapshotHooks(), NullLogger.Instance))
        {
            Assert.Equal("acme", collection.Tenant);
            Assert.Equal(
                new CollectionConfig("legacy", 8, DistanceMetric.InnerProduct, new HnswConfig(8, 128, 40), "",
                    collection.Config.PayloadIndexes, VectorStorage.F32, collection.Config.Bm25),
                collection.Config);
            Assert.Equal([new PayloadIndexSpec("lang", PayloadFieldKind.Keyword), new PayloadIndexSpec("year", PayloadFieldKind.Numeric)], collection.Config.PayloadIndexes);
            Assert.Equal(["title"], collection.Config.Bm25!.TextFields);
            Assert.Equal((1.5f, 0.5f), (collection.Config.Bm25.K1, collection.Config.Bm25.B!.Value));

            var info = ProtoMapping.ToInfo(collection);
            var expected = LegacyConfig();
            Assert.Equal(
                (expected.Name, expected.Dimensions, expected.Metric, expected.Hnsw, expected.Storage, expected.Bm25),
                (info.Name, info.Dimensions, info.Metric, info.Hnsw, info.Storage, info.Bm25));
            Assert.Equal(expected.PayloadIndexes, info.PayloadIndexes);

            // Written again from the internal form, the file is the very bytes the old code wrote.
            var rewritten = Path.Combine(_folder, "rewritten.definition");
            CollectionDefinitionFile.Write(rewritten, collection.Tenant, collection.Config);
            Assert.Equal(legacy, File.ReadAllBytes(rewritten));
        }
    }

    [Fact]
    public void Enum_values_the_contract_does_not_name_are_refused_with_the_field_to_fix()
    {
        CollectionConfig Draft(Action<CreateCollectionRequest> change)
        {
            var request = new CreateCollectionRequest { Name = "c", Dimensions = 4, Metric = Metric.Cosine };
            change(request);
            return CollectionConfigMapping.ToConfig(request);
        }

        Assert.Equal("metric: set METRIC_COSINE, METRIC_L2 or METRIC_INNER_PRODUCT.",
            Assert.Throws<RetrievalException>(() => CollectionConfig.Normalize(Draft(r => r.Metric = (Metric)7), NoEmbedders)).Message);
        Assert.Equal("storage: set STORAGE_F16 or STORAGE_F32.",
            Assert.Throws<RetrievalException>(() => CollectionConfig.Normalize(Draft(r => r.Storage = (V1.Storage)9), NoEmbedders)).Message);
        Assert.Equal("payload_indexes: field \"k\" needs kind KEYWORD or NUMERIC.",
            Assert.Throws<RetrievalException>(() => CollectionConfig.Normalize(
                Draft(r => r.PayloadIndexes.Add(new V1.PayloadIndex { Field = "k", Kind = (PayloadIndexKind)5 })), NoEmbedders)).Message);
    }

    [Fact]
    public void A_request_with_unset_values_gets_the_documented_defaults()
    {
        var config = CollectionConfig.Normalize(
            CollectionConfigMapping.ToConfig(new CreateCollectionRequest { Name = "c", Dimensions = 4, Metric = Metric.L2, Bm25 = new Bm25Params() }), NoEmbedders);

        Assert.Equal(new HnswConfig(16, 128, 64), config.Hnsw);
        Assert.Equal(VectorStorage.F16, config.Storage);
        Assert.Equal((1.2f, 0.75f), (config.Bm25!.K1, config.Bm25.B!.Value));
        var info = new CollectionInfo();
        CollectionConfigMapping.FillInfo(info, config);
        Assert.True(info.Bm25.HasB); // the effective b is reported, not left unset
        Assert.Equal(V1.Storage.F16, info.Storage);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
