using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Tokenization;

/// <summary>
/// Reads the SentencePiece vocabulary that a GGUF file carries in its <c>tokenizer.ggml.*</c> metadata
/// (the keys llama.cpp's converter writes for <c>tokenizer.ggml.model = "llama"</c>). Optional keys take
/// llama.cpp's defaults: scores 0, kind Normal, BOS 1, EOS 2, unknown 0, BOS added.
/// </summary>
public static class GgufTokenizerReader
{
    private const string ModelKey = "tokenizer.ggml.model";
    private const string TokensKey = "tokenizer.ggml.tokens";
    private const string ScoresKey = "tokenizer.ggml.scores";
    private const string TokenTypeKey = "tokenizer.ggml.token_type";
    private const string BosKey = "tokenizer.ggml.bos_token_id";
    private const string EosKey = "tokenizer.ggml.eos_token_id";
    private const string UnkKey = "tokenizer.ggml.unknown_token_id";
    private const string AddBosKey = "tokenizer.ggml.add_bos_token";
    private const string AddSpacePrefixKey = "tokenizer.ggml.add_space_prefix";

    /// <exception cref="ModelFormatException">A key is missing, of the wrong type or inconsistent, or the tokenizer is not SentencePiece BPE.</exception>
    public static SentencePieceVocabulary Read(GgufFile gguf)
    {
        ArgumentNullException.ThrowIfNull(gguf);
        string model = gguf.GetString(ModelKey);
        if (model != "llama")
        {
            throw new ModelFormatException(gguf.Path, ModelKey, $"is \"{model}\"; this reader takes the SentencePiece BPE tokenizer of Llama models (\"llama\"); TokenizerMetadata.ReadTokenizer also takes \"gpt2\"");
        }

        // Without the dummy prefix a Llama vocabulary encodes differently; rather than tokenize wrongly, refuse.
        if (gguf.TryGetBool(AddSpacePrefixKey, out bool addSpacePrefix) && !addSpacePrefix)
        {
            throw new ModelFormatException(gguf.Path, AddSpacePrefixKey, "is false; Mesh's SentencePiece tokenizer always adds the dummy space prefix");
        }

        IReadOnlyList<string> pieces = gguf.GetStringArray(TokensKey);
        int count = pieces.Count;
        float[] scores = gguf.Contains(ScoresKey) ? gguf.GetFloat32Array(ScoresKey) : new float[count];
        int[] types = gguf.Contains(TokenTypeKey) ? gguf.GetInt32Array(TokenTypeKey) : Enumerable.Repeat((int)TokenKind.Normal, count).ToArray();
        RequireLength(gguf, ScoresKey, scores.Length, count);
        RequireLength(gguf, TokenTypeKey, types.Length, count);

        var kinds = new TokenKind[count];
        for (int id = 0; id < count; id++)
        {
            if (types[id] is < (int)TokenKind.Normal or > (int)TokenKind.Byte)
            {
                throw new ModelFormatException(gguf.Path, $"{TokenTypeKey}[{id}]", $"is {types[id]}; token types are 1 (normal) to 6 (byte)");
            }

            kinds[id] = (TokenKind)types[id];
        }

        var vocabulary = new SentencePieceVocabulary(
            pieces,
            scores,
            kinds,
            BosId: TokenId(gguf, BosKey, fallback: 1, count),
            EosId: TokenId(gguf, EosKey, fallback: 2, count),
            UnkId: TokenId(gguf, UnkKey, fallback: 0, count),
            AddBos: !gguf.TryGetBool(AddBosKey, out bool addBos) || addBos);
        if (vocabulary.FindProblem() is { } problem)
        {
            throw new ModelFormatException(gguf.Path, TokensKey, problem);
        }

        return vocabulary;
    }

    private static void RequireLength(GgufFile gguf, string key, int length, int count)
    {
        if (length != count)
        {
            throw new ModelFormatException(gguf.Path, key, $"has {length} entries but {TokensKey} has {count}; they must match");
        }
    }

    private static int TokenId(GgufFile gguf, string key, int fallback, int count)
    {
        if (!gguf.TryGetUInt32(key, out uint id))
        {
            return fallback;
        }

        return id < (uint)count
            ? (int)id
            : throw new ModelFormatException(gguf.Path, key, $"is {id}, outside the vocabulary of {count} tokens");
    }
}
