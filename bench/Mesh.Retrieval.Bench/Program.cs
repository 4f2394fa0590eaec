using Mesh.Retrieval.Embedding;

namespace Mesh.Retrieval.Bench;

internal static class Program
{
    private static int Main(string[] args)
    {
        var root = RepoRoot.Find();
        var cache = Path.Combine(root, ".cache", "retrieval-bench");
        var glosses = WordNetCorpus.LoadGlosses();
        Console.Error.WriteLine($"corpus: {glosses.Count} distinct WordNet glosses");
        using var embedder = new MiniLmTextEmbedder();
        var vectors = EmbeddingCache.LoadOrEmbed(glosses, embedder, cache);
        if (args.Contains("--embed-only"))
        {
            return 0;
        }
        return vectors.Length > 0 ? 0 : 1;
    }
}
