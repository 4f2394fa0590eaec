using System.Text;
using Mesh.Assistant.V1;
using Mesh.Retrieval.V1;
using InferenceMessage = Mesh.Inference.V1.ChatMessage;

namespace Mesh.Gateway.Assistant;

/// <summary>
/// Builds the conversation the model is given: one system message (the caller's system messages, the
/// instruction, then the retrieved sources numbered [1]..[n] in retrieval order so the answer can cite
/// them, see <see cref="Citations"/>), the earlier user and assistant turns as the caller sent them,
/// and the guarded question as the last user message. Inference's Chat renders it with the model's own
/// chat template (role markers, special tokens), so the prompt's shape is the model's, not Mesh's.
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
    /// <returns>Inference chat messages: a system message (when there are system messages or sources), the earlier turns, the question.</returns>
    public static IReadOnlyList<InferenceMessage> Build(IReadOnlyList<ChatMessage> messages, string question, IReadOnlyList<ScoredPoint> sources)
    {
        var system = new StringBuilder();
        foreach (var caller in messages.Where(m => m.Role == Role.System))
        {
            system.Append(caller.Content.Trim()).Append('\n');
        }

        if (sources.Count > 0)
        {
            system.Append(Instruction).Append("\n\nSources:\n");
            for (var i = 0; i < sources.Count; i++)
            {
                system.Append('[').Append(i + 1).Append("] ").Append(sources[i].SourceText()).Append('\n');
            }
        }

        var conversation = new List<InferenceMessage>(messages.Count + 1);
        if (system.Length > 0)
        {
            conversation.Add(new InferenceMessage { Role = "system", Content = system.ToString().TrimEnd() });
        }

        for (var i = 0; i < messages.Count - 1; i++)
        {
            var message = messages[i];
            if (message.Role != Role.System)
            {
                conversation.Add(new InferenceMessage { Role = message.Role == Role.User ? "user" : "assistant", Content = message.Content.Trim() });
            }
        }

        conversation.Add(new InferenceMessage { Role = "user", Content = question.Trim() });
        return conversation;
    }

    /// <summary>The text a source contributes (<see cref="ScoredPoint.SourceText"/>: payload <c>text</c>, <c>title</c> before it, one line).</summary>
    public static string SourceText(ScoredPoint point) => point.SourceText();
}
