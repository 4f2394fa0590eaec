using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Bench;

/// <summary>The model files the benchmarks run: stories260K from ../shared/models and synthetic 110M GGUFs written once into .cache/.</summary>
internal static class BenchModels
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string SharedModels => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "models"));

    public static string Stories260KGguf => Path.Combine(SharedModels, "stories260K", "stories260K.gguf");

    public static string TinyStories656KGguf => Path.Combine(SharedModels, "TinyStories-656K", "TinyStories-656K-F32.gguf");

    public static string Stories260KBin => Path.Combine(SharedModels, "stories260K", "stories260K.bin");

    /// <summary>The synthetic llama2.c-110M-shaped model with the Llama 2 vocabulary, written on first use.</summary>
    public static string Synthetic110M(GgmlType type)
    {
        var folder = Path.Combine(RepoRoot, ".cache", "bench-models");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"synthetic-110M-{type}.gguf");
        if (!File.Exists(path))
        {
            Console.Error.WriteLine($"writing {path} (once)…");
            var vocabulary = SentencePieceTokenizer.FromModelFile(Path.Combine(SharedModels, "llama2-tokenizer", "tokenizer.model")).Vocabulary;
            var temporary = path + ".partial";
            SyntheticLlamaGguf.Write(temporary, SyntheticLlamaGguf.Shape110M(vocabulary.Pieces.Count), vocabulary, type, seed: 110);
            File.Move(temporary, path, overwrite: true);
        }

        return path;
    }

    /// <summary>
    /// The synthetic 110M model quantized by llama.cpp's own quantizer (LLamaSharp's
    /// <c>LLamaQuantizer</c>) from its F32 file, written on first use: the mixes users download
    /// (a Q4_K_M file holds Q4_K and Q6_K matrices; Q4_0 has a Q6_K classifier).
    /// </summary>
    public static string Quantized110M(LLama.Native.LLamaFtype type)
    {
        var path = Path.Combine(RepoRoot, ".cache", "bench-models", $"synthetic-110M-{type}.gguf");
        if (!File.Exists(path))
        {
            var source = Synthetic110M(GgmlType.F32);
            Console.Error.WriteLine($"quantizing {path} with llama.cpp (once)…");
            LlamaCppNative.EnsureLoaded(); // configured and loaded before the quantizer's first P/Invoke
            var temporary = path + ".partial";
            if (!LLama.LLamaQuantizer.Quantize(source, temporary, type, nthread: Environment.ProcessorCount, allowRequantize: true, quantizeOutputTensor: true))
            {
                throw new InvalidOperationException($"llama.cpp could not quantize {source} to {type}");
            }

            File.Move(temporary, path, overwrite: true);
        }

        return path;
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("run the benchmark from the repository (no Mesh.sln above the binary)");
    }
}
