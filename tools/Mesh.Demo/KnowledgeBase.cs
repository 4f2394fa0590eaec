using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Retrieval.V1;

namespace Mesh.Demo;

/// <summary>
/// Loads the demo knowledge base (<c>demo/retail/*.jsonl</c>, one document a line) into a collection
/// through the gateway, in the key's tenant. Each line's <c>text</c> is embedded by Retrieval's
/// MiniLM; the whole line is the payload (so the assistant can quote <c>text</c> and <c>title</c>),
/// with <c>kind</c> defaulting to the file's name in the singular. Filters may use category, kind,
/// sku, in_stock and price. The collection is dropped and created again, so loading twice gives the
/// same collection. Point ids: 1000 × (file's position in name order + 1) + line number.
/// </summary>
internal static class KnowledgeBase
{
    public static readonly IReadOnlySet<string> Flags = new HashSet<string>();

    public static async Task<int> LoadAsync(Options options)
    {
        var dir = options.Get("dir") ?? "demo/retail";
        var name = options.Get("collection") ?? "demo";
        using var channel = GrpcChannel.ForAddress(options.Gateway);
        var client = new RetrievalService.RetrievalServiceClient(channel);
        var key = new Metadata { { "authorization", $"Bearer {options.ApiKey}" } };
        try
        {
            await client.DropCollectionAsync(new DropCollectionRequest { Name = name }, key);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
        }

        await client.CreateCollectionAsync(new CreateCollectionRequest
        {
            Name = name,
            Metric = Metric.Cosine,
            Embedder = "all-MiniLM-L6-v2",
            PayloadIndexes =
            {
                Index("category", PayloadIndexKind.Keyword),
                Index("kind", PayloadIndexKind.Keyword),
                Index("sku", PayloadIndexKind.Keyword),
                Index("in_stock", PayloadIndexKind.Keyword),
                Index("price", PayloadIndexKind.Numeric),
            },
            // BM25 beside the MiniLM vectors: the assistant's searches are hybrid, so a question naming a
            // SKU ("FOO-1007") or a product name finds it, which MiniLM alone does not.
            Bm25 = new Bm25Params(),
        }, key);

        var files = Directory.GetFiles(dir, "*.jsonl").Order(StringComparer.Ordinal).ToArray();
        var total = 0;
        for (var f = 0; f < files.Length; f++)
        {
            var upsert = new UpsertRequest { Collection = name };
            var kind = Path.GetFileNameWithoutExtension(files[f]).TrimEnd('s');
            var lines = await File.ReadAllLinesAsync(files[f]);
            for (var i = 0; i < lines.Length; i++)
            {
                if (lines[i].Trim().Length == 0)
                {
                    continue;
                }

                var payload = Struct.Parser.ParseJson(lines[i]);
                if (!payload.Fields.TryGetValue("text", out var text) || text.KindCase != Value.KindOneofCase.StringValue)
                {
                    throw new ArgumentException($"{files[f]}:{i + 1}: every line needs a string field \"text\"");
                }

                payload.Fields.TryAdd("kind", Value.ForString(kind));
                upsert.Points.Add(new PointStruct { Id = new PointId { Num = (ulong)(1000 * (f + 1) + i + 1) }, Text = text.StringValue, Payload = payload });
            }

            await client.UpsertAsync(upsert, key);
            total += upsert.Points.Count;
            Console.WriteLine($"{Path.GetFileName(files[f]),-18} {upsert.Points.Count,3} documents");
        }

        Console.WriteLine($"collection '{name}': {total} documents");
        return 0;
    }

    private static PayloadIndex Index(string field, PayloadIndexKind kind) => new() { Field = field, Kind = kind };
}
