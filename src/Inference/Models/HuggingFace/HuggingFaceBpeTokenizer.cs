using System.Text.Json;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Models.HuggingFace;

/// <summary>
/// Reads a byte-level BPE <c>tokenizer.json</c> (Llama 3, Qwen 2/3, GPT-2, SmolLM: a <c>ByteLevel</c>
/// pre-tokenizer) into the <see cref="BpeVocabulary"/> that <see cref="ByteLevelBpeTokenizer"/> runs, as
/// llama.cpp's converter turns such a file into GGUF metadata (convert_hf_to_gguf.py,
/// <c>_set_vocab_gpt2</c>): <c>model.vocab</c> by id, <c>model.merges</c> in order (strings
/// <c>"Ġ t"</c> or pairs <c>["Ġ", "t"]</c>), added tokens as control tokens when <c>special</c> and
/// user-defined otherwise, ids missing below config.json's vocab_size as unused <c>[PAD{id}]</c> tokens.
/// The pre-tokenizer is recognised from its structure and regular expression and mapped to the llama.cpp
/// pre-tokenizer name that splits the same way (<see cref="PreTokenizerName"/>). Normalizers are not
/// applied (llama.cpp applies none to these vocabularies either, Qwen's NFC included).
/// </summary>
public static class HuggingFaceBpeTokenizer
{
    // The Split expressions of the tokenizer.json files Hugging Face hosts, with the llama.cpp
    // pre-tokenizer name of the same split (llama-vocab.cpp): Llama 3's, Qwen 2's, and GPT-2's own.
    private const string Contractions = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
    private const string Llama3Split = Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2Split = Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Gpt2Split = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";

    /// <summary>What Mesh recognises, for the message that refuses anything else.</summary>
    private const string Recognised =
        "Mesh recognises a ByteLevel pre-tokenizer with its own regex (GPT-2), Digits(individual_digits) then ByteLevel (SmolLM/StarCoder), " +
        "and a Split with Llama 3's, Qwen 2's or GPT-2's regex then ByteLevel(use_regex=false); use the model's GGUF file otherwise";

    /// <summary>Whether <paramref name="root"/> (a parsed tokenizer.json) is byte-level BPE: a ByteLevel pre-tokenizer or decoder.</summary>
    public static bool IsByteLevel(JsonElement root) =>
        HuggingFaceTokenizer.Mentions(root, "pre_tokenizer", "ByteLevel") || HuggingFaceTokenizer.Mentions(root, "decoder", "ByteLevel");

    /// <summary>
    /// The tokenizer of <paramref name="path"/>: <paramref name="config"/> supplies vocab_size and the
    /// BOS/EOS ids (llama.cpp's default id 11 where config.json has none), <paramref name="settings"/>
    /// tokenizer_config.json's add_bos_token/add_eos_token and chat template. Without add_bos_token, BOS is
    /// added when the post-processor's template starts with a special token, else as the pre-tokenizer's
    /// llama.cpp default says.
    /// </summary>
    /// <exception cref="ModelFormatException">A field is missing, of the wrong shape or out of bounds, the pre-tokenizer is not one Mesh recognises, or the merges do not fit the vocabulary; the message names the field.</exception>
    public static ByteLevelBpeTokenizer Read(string path, HuggingFaceConfig.Result config, HuggingFaceTokenizerConfig settings)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(settings);
        using var document = HuggingFaceConfig.Parse(path);
        var root = document.RootElement;
        ModelFormatException Error(string field, string message) => new(path, field, message);

        var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.Object ? m : throw Error("model", "is missing");
        var type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (type != "BPE")
        {
            throw Error("model.type", $"'{type}' is not supported with a ByteLevel pre-tokenizer (only BPE)");
        }

        bool ignoreMerges = model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True;
        string pre = PreTokenizerName(root, ignoreMerges) ?? throw Error("pre_tokenizer", $"is not a byte-level pre-tokenizer Mesh can reproduce exactly; {Recognised}");

        var tokens = new Dictionary<int, (string Text, TokenKind Kind)>();
        var vocab = model.TryGetProperty("vocab", out var v) && v.ValueKind == JsonValueKind.Object ? v : throw Error("model.vocab", "is missing");
        foreach (var entry in vocab.EnumerateObject())
        {
            tokens[Id(entry.Value, "model.vocab")] = (Checked(entry.Name, "model.vocab"), TokenKind.Normal);
        }

        if (root.TryGetProperty("added_tokens", out var added) && added.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in added.EnumerateArray())
            {
                var id = Id(token.TryGetProperty("id", out var i) ? i : default, "added_tokens");
                var content = Checked(token.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : throw Error("added_tokens", $"token {id} has no content"), "added_tokens");
                var special = token.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                // As llama.cpp's converter: special tokens, and text that looks like a turn marker, are control tokens.
                tokens[id] = (content, special || EndOfGeneration.LooksLikeControl(content) ? TokenKind.Control : TokenKind.UserDefined);
            }
        }

        int count = Math.Max(config.Config.VocabSize, tokens.Count == 0 ? 0 : tokens.Keys.Max() + 1);
        if (count is 0 or > GgufBpeTokenizerReader.MaxTokens)
        {
            throw Error("model.vocab", $"has {count} tokens; a vocabulary has 1 to {GgufBpeTokenizerReader.MaxTokens}");
        }

        var texts = new string[count];
        var kinds = new TokenKind[count];
        for (int id = 0; id < count; id++)
        {
            (texts[id], kinds[id]) = tokens.TryGetValue(id, out var token) ? token : ($"[PAD{id}]", TokenKind.Unused);
        }

        var merges = ReadMerges(model, Error, Checked);
        bool addBos = settings.AddBos ?? HuggingFaceTokenizer.PostProcessorAddsBos(root) ?? (BpePreTokenizer.TryCreate(pre, out var p) && p!.AddBosByDefault);
        int Special(int? id, string key) => id switch
        {
            null => Math.Min(11, count - 1),
            >= 0 when id < count => id.Value,
            _ => throw Error(key, $"config.json's {key} {id} is outside the vocabulary of {count} tokens"),
        };

        var vocabulary = new BpeVocabulary(texts, merges, kinds, pre,
            BosId: Special(config.BosId, "bos_token_id"), EosId: Special(config.EosId, "eos_token_id"),
            AddBos: addBos, AddEos: settings.AddEos ?? false, EndOfGenerationIds: [], settings.ChatTemplate);
        try
        {
            return ByteLevelBpeTokenizer.Create(vocabulary);
        }
        catch (ArgumentException e)
        {
            throw Error("model.merges", e.Message);
        }

        int Id(JsonElement e, string field) =>
            e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var id) && id is >= 0 and < GgufBpeTokenizerReader.MaxTokens
                ? id
                : throw Error(field, $"token id {e} is not in [0, {GgufBpeTokenizerReader.MaxTokens})");

        string Checked(string text, string field) => text.Length <= GgufBpeTokenizerReader.MaxTokenLength
            ? text
            : throw Error(field, $"has a token of {text.Length} characters; at most {GgufBpeTokenizerReader.MaxTokenLength} are accepted");
    }

    /// <summary>
    /// The llama.cpp pre-tokenizer name (<c>tokenizer.ggml.pre</c>) whose split equals the pre-tokenizer of
    /// <paramref name="root"/>, or null when there is none: a lone ByteLevel (regex on) is <c>gpt-2</c>;
    /// Digits(individual) then ByteLevel is <c>smollm</c>; a Split (Isolated) then ByteLevel (regex off)
    /// is <c>llama-bpe</c> for Llama 3's expression with <c>ignore_merges</c> (<c>dbrx</c> without),
    /// <c>qwen2</c> for Qwen 2's, <c>gpt-2</c> for GPT-2's. llama.cpp's converter identifies these by
    /// hashing sample encodings; the structure identifies them as exactly for the files it knows.
    /// </summary>
    public static string? PreTokenizerName(JsonElement root, bool ignoreMerges)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var steps = TypeOf(pre) == "Sequence"
            ? pre.TryGetProperty("pretokenizers", out var list) && list.ValueKind == JsonValueKind.Array ? list.EnumerateArray().ToList() : []
            : [pre];
        if (steps.Count == 0 || TypeOf(steps[^1]) != "ByteLevel" || steps[^1].TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.True)
        {
            return null; // llama.cpp has no byte-level pre-tokenizer that adds a prefix space
        }

        bool useRegex = !(steps[^1].TryGetProperty("use_regex", out var ur) && ur.ValueKind == JsonValueKind.False);
        return steps.Count switch
        {
            1 when useRegex => "gpt-2",
            2 when useRegex && TypeOf(steps[0]) == "Digits" && steps[0].TryGetProperty("individual_digits", out var d) && d.ValueKind == JsonValueKind.True => "smollm",
            2 when !useRegex && TypeOf(steps[0]) == "Split" => SplitRegex(steps[0]) switch
            {
                Llama3Split => ignoreMerges ? "llama-bpe" : "dbrx",
                Qwen2Split => "qwen2",
                Gpt2Split => "gpt-2",
                _ => null,
            },
            _ => null,
        };
    }

    private static string? TypeOf(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;

    /// <summary>The regex of an Isolated, non-inverted Split, or null.</summary>
    private static string? SplitRegex(JsonElement split) =>
        split.TryGetProperty("pattern", out var p) && p.ValueKind == JsonValueKind.Object
        && p.TryGetProperty("Regex", out var r) && r.ValueKind == JsonValueKind.String
        && split.TryGetProperty("behavior", out var b) && b.ValueKind == JsonValueKind.String && b.GetString() == "Isolated"
        && !(split.TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True)
            ? r.GetString()
            : null;

    private static string[] ReadMerges(JsonElement model, Func<string, string, ModelFormatException> error, Func<string, string, string> check)
    {
        var merges = model.TryGetProperty("merges", out var ms) && ms.ValueKind == JsonValueKind.Array ? ms : throw error("model.merges", "is missing; byte-level BPE needs its merges");
        if (merges.GetArrayLength() > GgufBpeTokenizerReader.MaxTokens)
        {
            throw error("model.merges", $"has {merges.GetArrayLength()} entries; at most {GgufBpeTokenizerReader.MaxTokens} are accepted");
        }

        var result = new string[merges.GetArrayLength()];
        int i = 0;
        foreach (var merge in merges.EnumerateArray())
        {
            // tokenizers ≥ 0.20 writes each merge as a pair; older files as one space-separated string.
            result[i] = check(merge.ValueKind switch
            {
                JsonValueKind.String => merge.GetString()!,
                JsonValueKind.Array when merge.GetArrayLength() == 2 && merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String
                    => merge[0].GetString() + " " + merge[1].GetString(),
                _ => throw error($"model.merges[{i}]", "is neither \"a b\" nor [\"a\", \"b\"]"),
            }, $"model.merges[{i}]");
            i++;
        }

        return result;
    }
}
