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
/// below the model's vocab_size as unused <c>[PAD{id}]</c> pieces. <see cref="Load"/> also takes
/// byte-level BPE files (Llama 3, Qwen: a ByteLevel pre-tokenizer), read by <see cref="HuggingFaceBpeTokenizer"/>.
/// </summary>
public static class HuggingFaceTokenizer
{
    /// <summary>The largest token id accepted, so a hostile file cannot make the vocabulary huge.</summary>
    public const int MaxVocabulary = 1 << 22;

    /// <summary>
    /// The tokenizer of a model directory: <c>tokenizer.json</c>, byte-level BPE or SentencePiece-style
    /// BPE, with <c>tokenizer_config.json</c>'s add_bos_token/add_eos_token and chat template.
    /// </summary>
    /// <exception cref="ModelFormatException">Either file is malformed or of a kind Mesh does not run; the message names the field.</exception>
    /// <exception cref="FileNotFoundException"><c>tokenizer.json</c> is missing.</exception>
    public static ITokenizer Load(string directory, HuggingFaceConfig.Result config)
    {
        var path = Path.Combine(directory, "tokenizer.json");
        var settings = HuggingFaceTokenizerConfig.Read(Path.Combine(directory, "tokenizer_config.json"));
        bool byteLevel;
        using (var document = HuggingFaceConfig.Parse(path))
        {
            byteLevel = HuggingFaceBpeTokenizer.IsByteLevel(document.RootElement);
        }

        return byteLevel
            ? HuggingFaceBpeTokenizer.Read(path, config, settings)
            : SentencePieceTokenizer.Create(Read(path, config, settings.AddBos), chatTemplate: settings.ChatTemplate);
    }

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

        if (HuggingFaceBpeTokenizer.IsByteLevel(root))
        {
            throw Error("pre_tokenizer", "is byte-level (ByteLevel); read such files with Load, which builds a byte-level BPE tokenizer");
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
            AddBos: addBos ?? PostProcessorAddsBos(root) ?? false);
        return vocabulary.FindProblem() is { } problem ? throw Error("model.vocab", problem) : vocabulary;

        int Id(JsonElement e, string field) =>
            e.TryGetInt32(out var id) && id is >= 0 and < MaxVocabulary ? id : throw Error(field, $"token id {e} is not in [0, {MaxVocabulary})");
    }

    /// <summary>Whether the section <paramref name="section"/> is, or contains, a component of type <paramref name="type"/>.</summary>
    internal static bool Mentions(JsonElement root, string section, string type) =>
        root.TryGetProperty(section, out var s) && HasType(s, type);

    private static bool HasType(JsonElement e, string type) => e.ValueKind switch
    {
        JsonValueKind.Object => (e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == type)
            || e.EnumerateObject().Any(p => HasType(p.Value, type)),
        JsonValueKind.Array => e.EnumerateArray().Any(x => HasType(x, type)),
        _ => false,
    };

    /// <summary>Whether the post-processor's single-sequence template (possibly inside a Sequence) starts with a special token (BOS); null when it has no template.</summary>
    internal static bool? PostProcessorAddsBos(JsonElement root)
    {
        if (!root.TryGetProperty("post_processor", out var p) || p.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var processors = HasOwnType(p, "Sequence") && p.TryGetProperty("processors", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray().ToList() : [p];
        foreach (var processor in processors)
        {
            if (processor.ValueKind == JsonValueKind.Object && processor.TryGetProperty("single", out var single) && single.ValueKind == JsonValueKind.Array)
            {
                return single.GetArrayLength() > 0 && single[0].ValueKind == JsonValueKind.Object && single[0].TryGetProperty("SpecialToken", out _);
            }
        }

        return null;
    }

    private static bool HasOwnType(JsonElement e, string type) =>
        e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == type;
}
