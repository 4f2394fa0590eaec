using System.Text.Json;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Models.HuggingFace;
using Mesh.Inference.Tests.Tokenization;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Tests.Architectures;

/// <summary>
/// A byte-level BPE tokenizer.json (the kind Llama 3, Qwen and GPT-2 directories ship), written here from
/// a real vocabulary as transformers writes one, encodes id for id as the same vocabulary in a GGUF file
/// does, on every line of the BPE corpus, with and without special-token parsing; its BOS default and
/// chat template come from the directory.
/// </summary>
public sealed class HuggingFaceBpeTokenizerTests
{
    private const string Llama3Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    [Theory]
    [InlineData("gpt2", "gpt-2")]
    [InlineData("gpt2", "smollm")]
    [InlineData("cl100k", "llama-bpe")]
    [InlineData("o200k", "qwen2")]
    public void TokenizerJsonEncodesAsTheGgufVocabularyDoes(string name, string pre)
    {
        var vocabulary = Load(name);
        using var gguf = GgufFile.Open(BpeGgufFile.Write(vocabulary, pre, suffix: "-hf"));
        var fromGguf = (ByteLevelBpeTokenizer)TokenizerMetadata.ReadTokenizer(gguf);
        var fromJson = HuggingFaceTokenizer.Load(WriteDirectory(vocabulary, pre), Config(vocabulary));
        var lines = BpeCorpus.Create();

        var mismatches = lines.Where(line =>
            !fromGguf.Encode(line, addBos: true, parseSpecial: false).SequenceEqual(fromJson.Encode(line, addBos: true, parseSpecial: false))
            || !fromGguf.Encode(line, addBos: false, parseSpecial: true).SequenceEqual(fromJson.Encode(line, addBos: false, parseSpecial: true))).ToList();

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {lines.Count} lines differ, first: \"{mismatches.FirstOrDefault()}\"");
        Assert.Equal(fromGguf.VocabSize, fromJson.VocabSize);
        Assert.Equal(fromGguf.BosId, fromJson.BosId);
        Assert.Equal(fromGguf.EosId, fromJson.EosId);
        Assert.Equal(fromGguf.AddBosByDefault, fromJson.AddBosByDefault);
        Assert.Equal(fromGguf.EndOfGenerationIds.Order(), fromJson.EndOfGenerationIds.Order());
    }

    [Fact]
    public void TokenizerConfigSetsBosAndTheChatTemplate()
    {
        var vocabulary = Load("gpt2");
        const string template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}";
        string directory = WriteDirectory(vocabulary, "gpt-2", new { add_bos_token = true, chat_template = new[] { new { name = "default", template } } });

        var tokenizer = HuggingFaceTokenizer.Load(directory, Config(vocabulary));

        Assert.True(tokenizer.AddBosByDefault); // GPT-2's own default is false
        Assert.Equal(template, tokenizer.ChatTemplate);
    }

    [Fact]
    public void AnUnknownPreTokenizerIsRefusedByName()
    {
        var vocabulary = Load("gpt2");
        string directory = WriteDirectory(vocabulary, "gpt-2");
        string path = Path.Combine(directory, "tokenizer.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"use_regex\":true", "\"use_regex\":true,\"add_prefix_space\":true"));

        var error = Assert.Throws<ModelFormatException>(() => HuggingFaceTokenizer.Load(directory, Config(vocabulary)));

        Assert.Contains("pre_tokenizer", error.Message);
        Assert.Contains("GGUF", error.Message);
    }

    private static readonly Dictionary<string, TiktokenVocabulary> Loaded = [];

    private static TiktokenVocabulary Load(string name)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(name, out var vocabulary))
            {
                vocabulary = name switch { "gpt2" => TiktokenVocabulary.Gpt2(), "cl100k" => TiktokenVocabulary.Cl100k(), _ => TiktokenVocabulary.O200k() };
                Loaded[name] = vocabulary;
            }

            return vocabulary;
        }
    }

    private static HuggingFaceConfig.Result Config(TiktokenVocabulary v) =>
        new(new LlamaConfig(8, 16, 1, 2, 2, v.Tokens.Length, 256, 1e-5f, 10000f), TiedEmbeddings: false, v.IdOf(v.Bos), v.IdOf(v.Eos));

    /// <summary>A directory with tokenizer.json (and tokenizer_config.json when <paramref name="tokenizerConfig"/> is given).</summary>
    private static string WriteDirectory(TiktokenVocabulary v, string pre, object? tokenizerConfig = null)
    {
        string directory = Directory.CreateTempSubdirectory($"mesh-hf-bpe-{v.Name}-{pre}-").FullName;
        using (var stream = File.Create(Path.Combine(directory, "tokenizer.json")))
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteStartArray("added_tokens");
            for (int id = 0; id < v.Tokens.Length; id++)
            {
                if (v.Kinds[id] is TokenKind.Control or TokenKind.UserDefined)
                {
                    w.WriteStartObject();
                    w.WriteNumber("id", id);
                    w.WriteString("content", v.Tokens[id]);
                    w.WriteBoolean("special", v.Kinds[id] == TokenKind.Control);
                    w.WriteEndObject();
                }
            }

            w.WriteEndArray();
            w.WriteNull("normalizer");
            w.WritePropertyName("pre_tokenizer");
            WritePreTokenizer(w, pre);
            if (pre == "llama-bpe")
            {
                // Llama 3's template: BOS, then the sequence.
                w.WritePropertyName("post_processor");
                w.WriteStartObject();
                w.WriteString("type", "TemplateProcessing");
                w.WriteStartArray("single");
                w.WriteStartObject();
                w.WriteStartObject("SpecialToken");
                w.WriteString("id", v.Bos);
                w.WriteNumber("type_id", 0);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteStartObject();
                w.WriteStartObject("Sequence");
                w.WriteString("id", "A");
                w.WriteNumber("type_id", 0);
                w.WriteEndObject();
                w.WriteEndObject();
                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteStartObject("decoder");
            w.WriteString("type", "ByteLevel");
            w.WriteEndObject();
            w.WriteStartObject("model");
            w.WriteString("type", "BPE");
            w.WriteBoolean("ignore_merges", pre == "llama-bpe");
            w.WriteStartObject("vocab");
            for (int id = 0; id < v.Tokens.Length; id++)
            {
                if (v.Kinds[id] == TokenKind.Normal)
                {
                    w.WriteNumber(v.Tokens[id], id);
                }
            }

            w.WriteEndObject();
            w.WriteStartArray("merges");
            foreach (string merge in v.Merges)
            {
                // Both forms transformers has written: "a b" (before tokenizers 0.20) and ["a", "b"].
                if (pre == "qwen2")
                {
                    w.WriteStartArray();
                    w.WriteStringValue(merge[..merge.IndexOf(' ', 1)]);
                    w.WriteStringValue(merge[(merge.IndexOf(' ', 1) + 1)..]);
                    w.WriteEndArray();
                }
                else
                {
                    w.WriteStringValue(merge);
                }
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        if (tokenizerConfig is not null)
        {
            File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"), JsonSerializer.Serialize(tokenizerConfig));
        }

        return directory;
    }

    private static void WritePreTokenizer(Utf8JsonWriter w, string pre)
    {
        void ByteLevel(bool useRegex)
        {
            w.WriteStartObject();
            w.WriteString("type", "ByteLevel");
            w.WriteBoolean("add_prefix_space", false);
            w.WriteBoolean("trim_offsets", true);
            w.WriteBoolean("use_regex", useRegex);
            w.WriteEndObject();
        }

        if (pre == "gpt-2")
        {
            ByteLevel(useRegex: true);
            return;
        }

        w.WriteStartObject();
        w.WriteString("type", "Sequence");
        w.WriteStartArray("pretokenizers");
        w.WriteStartObject();
        if (pre == "smollm")
        {
            w.WriteString("type", "Digits");
            w.WriteBoolean("individual_digits", true);
        }
        else
        {
            w.WriteString("type", "Split");
            w.WriteStartObject("pattern");
            w.WriteString("Regex", pre == "qwen2" ? Qwen2Regex : Llama3Regex);
            w.WriteEndObject();
            w.WriteString("behavior", "Isolated");
            w.WriteBoolean("invert", false);
        }

        w.WriteEndObject();
        ByteLevel(useRegex: pre == "smollm");
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
