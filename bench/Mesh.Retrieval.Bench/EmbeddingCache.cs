using System.Diagnostics;
using System.Runtime.InteropServices;
using Mesh.Retrieval.Embedding;

namespace Mesh.Retrieval.Bench;

/// <summary>
/// Embeds the corpus once and keeps the vectors in <c>.cache/retrieval-bench/</c> at the repository root
/// (git-ignored): raw little-endian float32 rows, appended in chunks, so an interrupted run resumes where
/// it stopped instead of starting over.
/// </summary>
internal static class EmbeddingCache
{
    private const int Chunk = 64;

    /// <summary>
    /// The vectors of <paramref name="texts"/>, embedding what the cache lacks. <paramref name="rows"/> below
    /// the corpus size reads only that prefix (a quick trial run while the full cache is still filling).
    /// </summary>
    public static float[][] LoadOrEmbed(IReadOnlyList<string> texts, ITextEmbedder embedder, string cacheFolder, int? rows = null)
    {
        Directory.CreateDirectory(cacheFolder);
        var path = Path.Combine(cacheFolder, $"wordnet-glosses.{embedder.Name}.{texts.Count}.f32");
        var rowBytes = embedder.Dimensions * sizeof(float);
        using var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite);
        var done = (int)(file.Length / rowBytes);
        file.SetLength((long)done * rowBytes); // drop a torn last row
        var wanted = Math.Min(rows ?? texts.Count, texts.Count);
        if (done < wanted)
        {
            Console.Error.WriteLine($"embedding {texts.Count - done} glosses with {embedder.Name} (cached: {done}) into {path}");
            file.Seek(0, SeekOrigin.End);
            var clock = Stopwatch.StartNew();
            for (var start = done; start < texts.Count; start += Chunk)
            {
                var batch = texts.Skip(start).Take(Chunk).ToArray();
                foreach (var vector in embedder.Embed(batch))
                {
                    file.Write(MemoryMarshal.AsBytes(vector.AsSpan()));
                }
                file.Flush();
                var finished = start + batch.Length - done;
                if ((start / Chunk) % 80 == 0 || start + Chunk >= texts.Count)
                {
                    var rate = finished / clock.Elapsed.TotalSeconds;
                    Console.Error.WriteLine($"  embedded {start + batch.Length}/{texts.Count} ({rate:F0}/s, eta {(texts.Count - start - batch.Length) / Math.Max(rate, 1):F0} s)");
                }
            }
        }
        file.Seek(0, SeekOrigin.Begin);
        var vectors = new float[wanted][];
        for (var i = 0; i < vectors.Length; i++)
        {
            vectors[i] = new float[embedder.Dimensions];
            file.ReadExactly(MemoryMarshal.AsBytes(vectors[i].AsSpan()));
        }
        return vectors;
    }
}
