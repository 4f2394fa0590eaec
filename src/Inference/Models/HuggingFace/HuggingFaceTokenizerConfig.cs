using System.Text.Json;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Models.HuggingFace;

/// <summary>
/// The settings a Hugging Face model directory keeps in <c>tokenizer_config.json</c> beside
/// <c>tokenizer.json</c>, as transformers' <c>PreTrainedTokenizer</c> reads them: whether encoding adds
/// BOS/EOS (<c>add_bos_token</c>, <c>add_eos_token</c>; null when the key or the file is absent) and
/// the chat template (<c>chat_template</c>: a string, or a list of <c>{name, template}</c> of which the
/// one named <c>default</c> is used, as transformers does).
/// </summary>
/// <param name="AddBos">add_bos_token, or null.</param>
/// <param name="AddEos">add_eos_token, or null.</param>
/// <param name="ChatTemplate">The Jinja chat template text, or null.</param>
public sealed record HuggingFaceTokenizerConfig(bool? AddBos, bool? AddEos, string? ChatTemplate)
{
    /// <summary>The settings of a directory without <c>tokenizer_config.json</c>.</summary>
    public static HuggingFaceTokenizerConfig None { get; } = new(null, null, null);

    /// <summary>Reads <paramref name="path"/>; a missing file gives <see cref="None"/>.</summary>
    /// <exception cref="ModelFormatException">The file is not JSON, or <c>chat_template</c> is of the wrong shape or longer than <see cref="TokenizerMetadata.MaxChatTemplateLength"/>.</exception>
    public static HuggingFaceTokenizerConfig Read(string path)
    {
        if (!File.Exists(path))
        {
            return None;
        }

        using var document = HuggingFaceConfig.Parse(path);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new ModelFormatException(path, "json", "is not a JSON object");
        }

        bool? Flag(string key) =>
            root.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

        string? template = null;
        if (root.TryGetProperty("chat_template", out var t))
        {
            template = t.ValueKind switch
            {
                JsonValueKind.String => t.GetString(),
                JsonValueKind.Null => null,
                JsonValueKind.Array => t.EnumerateArray()
                    .Where(e => e.ValueKind == JsonValueKind.Object && e.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() == "default")
                    .Select(e => e.TryGetProperty("template", out var x) && x.ValueKind == JsonValueKind.String ? x.GetString() : null)
                    .FirstOrDefault(),
                _ => throw new ModelFormatException(path, "chat_template", $"is a JSON {t.ValueKind}; expected a string or a list of {{name, template}}"),
            };
        }

        if (template is { Length: > TokenizerMetadata.MaxChatTemplateLength })
        {
            throw new ModelFormatException(path, "chat_template", $"is {template.Length} characters long; at most {TokenizerMetadata.MaxChatTemplateLength} are accepted");
        }

        return new HuggingFaceTokenizerConfig(Flag("add_bos_token"), Flag("add_eos_token"), template);
    }
}
