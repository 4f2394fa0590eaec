using System.Text;
using Google.Protobuf.WellKnownTypes;
using Mesh.Assistant.V1;
using Mesh.Retrieval.V1;

namespace Mesh.Gateway.Assistant;

/// <summary>
/// Builds the model's prompt from the conversation and the retrieved sources, numbered [1]..[n] in
/// retrieval order so the answer can cite them (see <see cref="Citations"/>). This is the one place
/// that decides the prompt's shape: when InferenceService gains a Chat RPC that applies the model's
/// own chat template, the messages built here go there instead of a flat text prompt.
/// </summary>
public static class PromptAssembler
{
    /// <summary>The instruction put before the sources.</summary>
    public const string Instruction =
        "Answer the user's question using only the numbered sources. Cite each source you use as [n]. " +
        "If the sources do not contain the answer, say that you do not know.";

    /// <param name="messages">The conversation; its last message is the user's question.</param>
    /// <param name="question">The last user message as the input guard passed it (possibly redacted).</param>
    /// <param name="sources">Retrieved points, best first; their payload's <c>text</c> (else the payload as JSON) is quoted.</param>
    public static string Build(IReadOnlyList<ChatMessage> messages, string question, IReadOnlyList<ScoredPoint> sources)
    {
        var prompt = new StringBuilder();
        foreach (var system in messages.Where(m => m.Role == Role.System))
        {
            prompt.Append(system.Content.Trim()).Append('\n');
        }

        if (sources.Count > 0)
        {
            prompt.Append(Instruction).Append("\n\nSources:\n");
            for (var i = 0; i < sources.Count; i++)
            {
                prompt.Append('[').Append(i + 1).Append("] ").Append(SourceText(sources[i])).Append('\n');
            }

            prompt.Append('\n');
        }

        for (var i = 0; i < messages.Count - 1; i++)
        {
            var message = messages[i];
            if (message.Role != Role.System)
            {
                prompt.Append(message.Role == Role.User ? "User: " : "Assistant: ").Append(message.Content.Trim()).Append('\n');
            }
        }

        return prompt.Append("User: ").Append(question.Trim()).Append("\nAssistant:").ToString();
    }

    /// <summary>The text a source contributes: payload field <c>text</c>, with <c>title</c> before it when present.</summary>
    public static string SourceText(ScoredPoint point)
    {
        var fields = point.Payload?.Fields;
        if (fields is null || fields.Count == 0)
        {
            return "";
        }

        var text = fields.TryGetValue("text", out var t) && t.KindCase == Value.KindOneofCase.StringValue
            ? t.StringValue
            : point.Payload!.ToString();
        return fields.TryGetValue("title", out var title) && title.KindCase == Value.KindOneofCase.StringValue
            ? $"{title.StringValue}: {text}"
            : text.ReplaceLineEndings(" ");
    }
}
