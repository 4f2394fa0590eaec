using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Tokenization;

/// <summary>The GGUF tokenizer keys both tokenizer readers share: special-token ids and the chat template.</summary>
public static class TokenizerMetadata
{
    /// <summary>GGUF key of the model's Jinja chat template.</summary>
    public const string ChatTemplateKey = "tokenizer.chat_template";

    /// <summary>Longest chat template accepted, in UTF-16 units (real ones are under 20,000).</summary>
    public const int MaxChatTemplateLength = 1 << 20;

    /// <summary>The token id stored under <paramref name="key"/>, or null when absent.</summary>
    /// <exception cref="ModelFormatException">The id is outside the vocabulary.</exception>
    public static int? OptionalId(GgufFile gguf, string key, int count)
    {
        if (!gguf.TryGetUInt32(key, out uint id))
        {
            return null;
        }

        return id < (uint)count
            ? (int)id
            : throw new ModelFormatException(gguf.Path, key, $"is {id}, outside the vocabulary of {count} tokens");
    }

    /// <summary>The chat template, or null when the file has none.</summary>
    /// <exception cref="ModelFormatException">The template is implausibly long.</exception>
    public static string? ChatTemplate(GgufFile gguf)
    {
        if (!gguf.Contains(ChatTemplateKey))
        {
            return null;
        }

        string template = gguf.GetString(ChatTemplateKey);
        return template.Length <= MaxChatTemplateLength
            ? template
            : throw new ModelFormatException(gguf.Path, ChatTemplateKey, $"is {template.Length} characters long; at most {MaxChatTemplateLength} are accepted");
    }

    /// <summary>
    /// The tokenizer a GGUF file describes: SentencePiece for <c>tokenizer.ggml.model = "llama"</c>,
    /// byte-level BPE for <c>"gpt2"</c>.
    /// </summary>
    /// <exception cref="ModelFormatException">Another tokenizer model, or a malformed vocabulary.</exception>
    public static ITokenizer ReadTokenizer(GgufFile gguf)
    {
        ArgumentNullException.ThrowIfNull(gguf);
        string model = gguf.GetString("tokenizer.ggml.model");
        return model switch
        {
            "llama" => SentencePieceTokenizer.Create(GgufTokenizerReader.Read(gguf), EndOfGenerationFromMetadata(gguf), ChatTemplate(gguf)),
            "gpt2" => GgufBpeTokenizerReader.Read(gguf),
            _ => throw new ModelFormatException(gguf.Path, "tokenizer.ggml.model", $"is \"{model}\"; Mesh supports \"llama\" (SentencePiece BPE) and \"gpt2\" (byte-level BPE)"),
        };
    }

    private static int[] EndOfGenerationFromMetadata(GgufFile gguf)
    {
        int count = gguf.GetStringArray("tokenizer.ggml.tokens").Count;
        return [.. new[] { "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id" }
            .Select(key => OptionalId(gguf, key, count))
            .OfType<int>()];
    }
}
