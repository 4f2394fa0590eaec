using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>
/// Writes a GGUF file with a <c>llama</c>-architecture header and a byte-level BPE tokenizer
/// (<c>tokenizer.ggml.model = "gpt2"</c>) from a real vocabulary, the way llama.cpp's converter writes
/// one; tensors are left out, so llama.cpp loads it vocabulary-only and Mesh reads its tokenizer.
/// </summary>
internal static class BpeGgufFile
{
    private static readonly string Folder = Directory.CreateTempSubdirectory("mesh-bpe-gguf-").FullName;

    /// <summary>The file's path; <paramref name="extra"/> adds or overrides metadata.</summary>
    public static string Write(TiktokenVocabulary vocabulary, string pre, Action<GgufWriter>? extra = null, string? suffix = null)
    {
        string path = Path.Combine(Folder, $"{vocabulary.Name}-{pre}{suffix}.gguf");
        var w = Header(vocabulary, pre);
        extra?.Invoke(w);
        w.Write(path);
        return path;
    }

    /// <summary>The architecture and tokenizer keys, without tensors.</summary>
    public static GgufWriter Header(TiktokenVocabulary vocabulary, string pre) =>
        new GgufWriter()
            .Add("general.architecture", "llama")
            .Add("general.name", $"{vocabulary.Name}-{pre}")
            .Add("llama.context_length", 256u)
            .Add("llama.embedding_length", 8u)
            .Add("llama.block_count", 1u)
            .Add("llama.feed_forward_length", 16u)
            .Add("llama.rope.dimension_count", 4u)
            .Add("llama.attention.head_count", 2u)
            .Add("llama.attention.head_count_kv", 2u)
            .Add("llama.attention.layer_norm_rms_epsilon", 1e-5f)
            .Add("tokenizer.ggml.model", "gpt2")
            .Add("tokenizer.ggml.pre", pre)
            .Add("tokenizer.ggml.tokens", vocabulary.Tokens)
            .Add("tokenizer.ggml.token_type", Array.ConvertAll(vocabulary.Kinds, k => (int)k))
            .Add("tokenizer.ggml.merges", vocabulary.Merges)
            .Add("tokenizer.ggml.bos_token_id", (uint)vocabulary.IdOf(vocabulary.Bos))
            .Add("tokenizer.ggml.eos_token_id", (uint)vocabulary.IdOf(vocabulary.Eos));
}
