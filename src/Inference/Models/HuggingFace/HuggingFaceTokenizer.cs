using System.Text.Json;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Models.HuggingFace;

/// <summary>
/// Reads a Hugging Face <c>tokenizer.json</c> of the SentencePiece-BPE kind that Llama 2, Mistral
/// and TinyStories models ship (model type BPE, spaces as U+2581 through a Prepend+Replace normalizer
/// or a Metaspace pre-tokenizer, byte fallback) into the <see cref="SentencePieceVocabulary"/> that
/// Mesh's SentencePiece tokenizer (on Microsoft.ML.Tokenizers) runs, the way llama.cpp's converter
/// turns such a file into a GGUF vocabulary: pieces by id, scores −id (earlier-learned merges win),
/// added special tokens as control tokens, <c>&lt;0xHH&gt;</c> pieces as byte tokens, ids missing
/// below the model's vocab_size as unused <c>[PAD{id}]</c> pieces. Byte-level BPE files (Llama 3,
/// Qwen: a ByteLevel pre-tokenizer) are refused with a message; that tokenizer family is built
/// separately from GGUF metadata.
/// </summary>
public static class HuggingFaceTokenizer
{
    /// <summary>The largest token id accepted, so a hostile file cannot make the vocabulary huge.</summary>
    public const int MaxVocabulary = 1 << 22;

    /// <summary>Reads <paramref name="path"/>; <paramref name="config"/> supplies vocab_size and BOS/EOS ids, <paramref name="addBos"/> tokenizer_config.json's add_bos_token when known.</summary>
    public static SentencePieceVocabulary Read(string path, HuggingFaceConfig.Result config, bool? addBos)
    {
        using var document = HuggingFaceConfig.Parse(path);
        var root = document.RootElement;
        ModelFormatException Error(string field, string message) => new(path, field, message);

        var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.Object ? m : throw Error("model", "is missing");
        var type = model.TryGetProperty("type", out var t) ? t.GetString() : null;
        if (type != "BPE")
        {
            throw Error("model.type", $"'{type}' is not supported (only SentencePiece-style BPE tokenizer.json files)");
        }

        if (Mentions(root, "pre_tokenizer", "ByteLevel") || Mentions(root, "decoder", "ByteLevel"))
        {
            throw Error("pre_tokenizer", "byte-level BPE (ByteLevel) tokenizer.json files are not supported for Hugging Face directories yet; use the model's GGUF file");
        }

        if (!Mentions(root, "normalizer", "Prepend") && !Mentions(root, "pre_tokenizer", "Metaspace"))
        {
            throw Error("normalizer", "expected SentencePiece-style spaces (a Prepend/Replace normalizer or a Metaspace pre-tokenizer with U+2581)");
        }

        var pieces = new Dictionary<int, (string Piece, TokenKind Kind)>();
        var vocab = model.TryGetProperty("vocab", out var v) && v.ValueKind == JsonValueKind.Object ? v : throw Error("model.vocab", "is missing");
        foreach (var entry in vocab.EnumerateObject())
        {
            var id = Id(entry.Value, "model.vocab");
            pieces[id] = (entry.Name, BytePiece.TryParse(entry.Name, out _) ? TokenKind.Byte : TokenKind.Normal);
        }

        var unkPiece = model.TryGetProperty("unk_token", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                var id = Id(token.GetProperty("id"), "added_tokens");
                var content = token.GetProperty("content").GetString() ?? "";
                var special = token.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                pieces[id] = (content, content == unkPiece ? TokenKind.Unknown : special ? TokenKind.Control : TokenKind.UserDefined);
            }
        }

        var count = Math.Max(config.Config.VocabSize, pieces.Count == 0 ? 0 : pieces.Keys.Max() + 1);
        var list = new string[count];
        var kinds = new TokenKind[count];
        var scores = new float[count];
        for (var id = 0; id < count; id++)
        {
            (list[id], kinds[id]) = pieces.TryGetValue(id, out var p) ? p : ($"[PAD{id}]", TokenKind.Unused);
            scores[id] = -id;
        }

        var unk = unkPiece is null ? -1 : pieces.Where(p => p.Value.Piece == unkPiece).Select(p => p.Key).DefaultIfEmpty(-1).Min();
        var vocabulary = new SentencePieceVocabulary(list, scores, kinds,
            BosId: config.BosId ?? 1, EosId: config.EosId ?? 2, UnkId: unk >= 0 ? unk : 0,
            AddBos: addBos ?? StartsWithSpecialToken(root));
        return vocabulary.FindProblem() is { } problem ? throw Error("model.vocab", problem) : vocabulary;

        int Id(JsonElement e, string field) =>
            e.TryGetInt32(out var id) && id is >= 0 and < MaxVocabulary ? id : throw Error(field, $"token id {e} is not in [0, {MaxVocabulary})");
    }

    /// <summary>tokenizer_config.json's add_bos_token, or null when the file or the key is absent.</summary>
    public static bool? ReadAddBos(string tokenizerConfigPath)
    {
        if (!File.Exists(tokenizerConfigPath))
        {
            return null;
        }

        using var document = HuggingFaceConfig.Parse(tokenizerConfigPath);
        return document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("add_bos_token", out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? v.GetBoolean()
            : null;
    }

    /// <summary>Whether the section <paramref name="section"/> is, or contains, a component of type <paramref name="type"/>.</summary>
    private static bool Mentions(JsonElement root, string section, string type) =>
        root.TryGetProperty(section, out var s) && HasType(s, type);

    private static bool HasType(JsonElement e, string type) => e.ValueKind switch
    {
        JsonValueKind.Object => (e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == type)
            || e.EnumerateObject().Any(p => HasType(p.Value, type)),
        JsonValueKind.Array => e.EnumerateArray().Any(x => HasType(x, type)),
        _ => false,
    };

    /// <summary>Whether the post-processor's single-sequence template starts with a special token (BOS).</summary>
    private static bool StartsWithSpecialToken(JsonElement root) =>
        root.TryGetProperty("post_processor", out var p) && p.ValueKind == JsonValueKind.Object
        && p.TryGetProperty("single", out var single) && single.ValueKind == JsonValueKind.Array && single.GetArrayLength() > 0
        && single[0].TryGetProperty("SpecialToken", out _);
}
