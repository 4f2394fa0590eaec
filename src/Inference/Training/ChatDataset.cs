using System.Globalization;
using System.Text.Json;
using Mesh.Inference.Chat;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Training;

/// <summary>
/// A JSON Lines chat dataset (one <c>{"messages": [{"role": "user", "content": "…"}, {"role": "assistant", "content": "…"}]}</c>
/// per line, OpenAI's fine-tuning format; other fields are ignored) rendered with the model's chat
/// template and tokenized as the Chat RPC tokenizes a prompt. Loss is on the assistant answers only:
/// each assistant turn spans from the end of the conversation before it rendered with the generation
/// prompt to the end of the conversation through it (its text and the template's end-of-turn marker).
/// </summary>
public static class ChatDataset
{
    /// <summary>The largest dataset file read.</summary>
    public const long MaxFileBytes = 256L << 20;

    /// <summary>Reads and tokenizes every non-blank line of <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">A line that is not a chat example, has no assistant answer, or is longer than <paramref name="contextLength"/> tokens; the message gives the file and line.</exception>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    public static IReadOnlyList<TrainingExample> Read(string path, ITokenizer tokenizer, ChatTemplate template, int contextLength)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"no dataset at '{path}': give a JSON Lines file of {{\"messages\": [...]}} examples", path);
        }

        if (info.Length > MaxFileBytes)
        {
            throw new InvalidDataException($"{path}: {info.Length} bytes is more than the {MaxFileBytes} a dataset may have; split it");
        }

        return ReadLines(File.ReadLines(path), path, tokenizer, template, contextLength);
    }

    /// <summary>Reads and tokenizes every non-blank line of JSON Lines <paramref name="text"/> given inline; errors name <paramref name="source"/> and the line.</summary>
    /// <exception cref="InvalidDataException">As <see cref="Read"/>, or text over <see cref="MaxFileBytes"/> characters.</exception>
    public static IReadOnlyList<TrainingExample> Parse(string text, string source, ITokenizer tokenizer, ChatTemplate template, int contextLength)
    {
        if (text.Length > MaxFileBytes)
        {
            throw new InvalidDataException($"{source}: {text.Length} characters is more than the {MaxFileBytes} a dataset may have; split it");
        }

        return ReadLines(ReadLinesOf(text), source, tokenizer, template, contextLength);
    }

    private static IEnumerable<string> ReadLinesOf(string text)
    {
        using var reader = new StringReader(text);
        while (reader.ReadLine() is { } line)
        {
            yield return line;
        }
    }

    private static IReadOnlyList<TrainingExample> ReadLines(IEnumerable<string> lines, string path, ITokenizer tokenizer, ChatTemplate template, int contextLength)
    {
        var examples = new List<TrainingExample>();
        var number = 0;
        foreach (var line in lines)
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                examples.Add(Tokenize(Parse(line), tokenizer, template, contextLength));
            }
            catch (Exception e) when (e is JsonException or InvalidDataException or ArgumentException)
            {
                throw new InvalidDataException($"{path} line {number.ToString(CultureInfo.InvariantCulture)}: {e.Message}", e);
            }
        }

        if (examples.Count == 0)
        {
            throw new InvalidDataException($"{path} has no examples");
        }

        return examples;
    }

    /// <summary>The tokens of <paramref name="messages"/> and the answer tokens' targets.</summary>
    /// <exception cref="InvalidDataException">No assistant message, a template whose renderings are not prefixes of each other, or too long.</exception>
    public static TrainingExample Tokenize(IReadOnlyList<ChatMessage> messages, ITokenizer tokenizer, ChatTemplate template, int contextLength)
    {
        var full = template.Render(messages, addGenerationPrompt: false);
        var ids = Encode(full, tokenizer);
        if (ids.Length > contextLength)
        {
            throw new InvalidDataException($"the example is {ids.Length} tokens, longer than the model's context of {contextLength}");
        }

        var targets = new int[ids.Length];
        Array.Fill(targets, -1);
        for (var k = 0; k < messages.Count; k++)
        {
            if (messages[k].Role != "assistant")
            {
                continue;
            }

            var start = Boundary(template.Render([.. messages.Take(k)], addGenerationPrompt: true), full, ids, tokenizer);
            var end = Boundary(template.Render([.. messages.Take(k + 1)], addGenerationPrompt: false), full, ids, tokenizer);
            for (var i = Math.Max(start, 1); i < end; i++)
            {
                targets[i - 1] = ids[i];
            }
        }

        if (!targets.Any(t => t >= 0))
        {
            throw new InvalidDataException("the example has no assistant answer to learn (give a message with role assistant and content)");
        }

        return new TrainingExample(ids, targets);
    }

    private static int[] Encode(string text, ITokenizer tokenizer) => tokenizer.Encode(text, tokenizer.AddBosByDefault, parseSpecial: true);

    /// <summary>
    /// The token index where the rendering <paramref name="prefix"/> ends inside <paramref name="ids"/>: the
    /// common prefix of its tokens and the full example's (a token that straddles the boundary counts as before it).
    /// </summary>
    private static int Boundary(string prefix, string full, int[] ids, ITokenizer tokenizer)
    {
        if (!full.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new InvalidDataException("the chat template does not render the conversation's turns as prefixes of each other, so the answers cannot be located");
        }

        var prefixIds = Encode(prefix, tokenizer);
        var n = 0;
        while (n < prefixIds.Length && n < ids.Length && prefixIds[n] == ids[n])
        {
            n++;
        }

        return n;
    }

    private static List<ChatMessage> Parse(string line)
    {
        using var json = JsonDocument.Parse(line);
        if (json.RootElement.ValueKind != JsonValueKind.Object || !json.RootElement.TryGetProperty("messages", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException("expected an object with a \"messages\" array");
        }

        var messages = new List<ChatMessage>();
        foreach (var m in list.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object
                || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                || !m.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
            {
                throw new InvalidDataException($"messages[{messages.Count}] must be an object with string \"role\" and \"content\"");
            }

            if (!ChatMessage.Roles.Contains(role.GetString()!))
            {
                throw new InvalidDataException($"messages[{messages.Count}].role is '{role.GetString()}'; it must be one of {string.Join(", ", ChatMessage.Roles)}");
            }

            messages.Add(new ChatMessage(role.GetString()!, content.GetString()!));
        }

        return messages;
    }
}
