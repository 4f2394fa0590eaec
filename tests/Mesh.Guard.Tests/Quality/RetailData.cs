using System.Text.Json;
using Mesh.Guard.Embeddings;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Mesh.Guard.Tests.Quality;

/// <summary>The demo knowledge base (demo/retail/*.jsonl) and one shared MiniLM embedder for the quality tests.</summary>
public static class RetailData
{
    private static readonly Lazy<MiniLmEmbedder> SharedEmbedder = new(() =>
        new MiniLmEmbedder(Options.Create(new GuardOptions { EmbeddingThreads = 2, EmbeddingBatchSize = 32 }), NullLogger<MiniLmEmbedder>.Instance));

    /// <summary>The real MiniLM embedder, loaded once per test run.</summary>
    public static ITextEmbedder Embedder => SharedEmbedder.Value;

    /// <summary>demo/retail in the repository this test was built from.</summary>
    public static string Folder
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "demo", "retail");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }

            throw new DirectoryNotFoundException("demo/retail not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Every knowledge-base document's text by id.</summary>
    public static IReadOnlyDictionary<string, string> Documents() =>
        new[] { "products", "policies", "faqs", "promotions" }
            .SelectMany(name => Lines(name + ".jsonl"))
            .ToDictionary(d => d.GetProperty("id").GetString()!, d => d.GetProperty("text").GetString()!);

    /// <summary>The JSON lines of a file under demo/retail.</summary>
    public static IEnumerable<JsonElement> Lines(string file) =>
        File.ReadLines(Path.Combine(Folder, file)).Where(l => l.Trim().Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone());
}
