using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Tokenization;

/// <summary>
/// Reads a byte-level BPE vocabulary from GGUF metadata (<c>tokenizer.ggml.model = "gpt2"</c>), with
/// llama.cpp's defaults for missing keys (llama-vocab.cpp <c>load</c>): token types normal, BOS and EOS
/// 11, <c>add_bos</c> as the pre-tokenizer says (true for Llama 3 and Tekken) and <c>add_eos</c> false
/// unless <c>tokenizer.ggml.add_bos_token</c>/<c>add_eos_token</c> say otherwise. The file is untrusted:
/// counts and lengths are bounded and every problem is a <see cref="ModelFormatException"/> naming the key.
/// </summary>
public static class GgufBpeTokenizerReader
{
    /// <summary>Most tokens a vocabulary may have (the largest real ones have about 260,000).</summary>
    public const int MaxTokens = 1 << 21;

    /// <summary>Longest token or merge, in UTF-16 units.</summary>
    public const int MaxTokenLength = 4096;

    private const string Prefix = "tokenizer.ggml.";

    /// <exception cref="ModelFormatException">A key is missing, of the wrong type, out of bounds or inconsistent.</exception>
    public static ByteLevelBpeTokenizer Read(GgufFile gguf)
    {
        ArgumentNullException.ThrowIfNull(gguf);
        IReadOnlyList<string> tokens = gguf.GetStringArray(Prefix + "tokens");
        if (tokens.Count is 0 or > MaxTokens)
        {
            throw new ModelFormatException(gguf.Path, Prefix + "tokens", $"has {tokens.Count} entries; a vocabulary has 1 to {MaxTokens}");
        }

        if (!gguf.Contains(Prefix + "merges"))
        {
            throw new ModelFormatException(gguf.Path, Prefix + "merges", "is missing; a byte-level BPE vocabulary needs its merges");
        }

        IReadOnlyList<string> merges = gguf.GetStringArray(Prefix + "merges");
        if (merges.Count > MaxTokens)
        {
            throw new ModelFormatException(gguf.Path, Prefix + "merges", $"has {merges.Count} entries; at most {MaxTokens} are accepted");
        }

        CheckLengths(gguf, "tokens", tokens);
        CheckLengths(gguf, "merges", merges);
        int[] types = gguf.Contains(Prefix + "token_type") ? gguf.GetInt32Array(Prefix + "token_type") : Enumerable.Repeat((int)TokenKind.Normal, tokens.Count).ToArray();
        if (types.Length != tokens.Count)
        {
            throw new ModelFormatException(gguf.Path, Prefix + "token_type", $"has {types.Length} entries but {Prefix}tokens has {tokens.Count}; they must match");
        }

        var kinds = new TokenKind[tokens.Count];
        for (int id = 0; id < kinds.Length; id++)
        {
            if (types[id] is < (int)TokenKind.Normal or > (int)TokenKind.Byte)
            {
                throw new ModelFormatException(gguf.Path, $"{Prefix}token_type[{id}]", $"is {types[id]}; token types are 1 (normal) to 6 (byte)");
            }

            // llama.cpp makes tokens that look like end-of-turn markers control tokens whatever the file says.
            kinds[id] = EndOfGeneration.LooksLikeControl(tokens[id]) ? TokenKind.Control : (TokenKind)types[id];
        }

        string? pre = gguf.Contains(Prefix + "pre") ? gguf.GetString(Prefix + "pre") : null;
        if (!BpePreTokenizer.TryCreate(pre, out var preTokenizer))
        {
            throw new ModelFormatException(gguf.Path, Prefix + "pre", ByteLevelBpeTokenizer.UnknownPreTokenizer(pre) + "; the file's model family cannot be tokenized exactly");
        }

        var metadataEog = new List<int>();
        foreach (string key in (string[])["eot_token_id", "eom_token_id"])
        {
            if (TokenizerMetadata.OptionalId(gguf, Prefix + key, tokens.Count) is int id)
            {
                metadataEog.Add(id);
            }
        }

        var vocabulary = new BpeVocabulary(
            tokens,
            merges,
            kinds,
            pre,
            BosId: TokenizerMetadata.OptionalId(gguf, Prefix + "bos_token_id", tokens.Count) ?? Math.Min(11, tokens.Count - 1),
            EosId: TokenizerMetadata.OptionalId(gguf, Prefix + "eos_token_id", tokens.Count) ?? Math.Min(11, tokens.Count - 1),
            AddBos: gguf.TryGetBool(Prefix + "add_bos_token", out bool addBos) ? addBos : preTokenizer!.AddBosByDefault,
            AddEos: gguf.TryGetBool(Prefix + "add_eos_token", out bool addEos) && addEos,
            metadataEog,
            TokenizerMetadata.ChatTemplate(gguf));
        if (vocabulary.FindProblem() is { } problem)
        {
            throw new ModelFormatException(gguf.Path, Prefix + "merges", problem);
        }

        try
        {
            return ByteLevelBpeTokenizer.Create(vocabulary);
        }
        catch (ArgumentException e)
        {
            throw new ModelFormatException(gguf.Path, Prefix + "merges", e.Message);
        }
    }

    private static void CheckLengths(GgufFile gguf, string key, IReadOnlyList<string> values)
    {
        for (int i = 0; i < values.Count; i++)
        {
            if (values[i].Length > MaxTokenLength)
            {
                throw new ModelFormatException(gguf.Path, $"{Prefix}{key}[{i}]", $"is {values[i].Length} characters long; at most {MaxTokenLength} are accepted");
            }
        }
    }
}
