namespace Mesh.Inference.Chat;

/// <summary>
/// One message of a conversation: <see cref="Role"/> is <c>system</c>, <c>user</c> or <c>assistant</c>
/// (<see cref="Roles"/>), <see cref="Content"/> its text, as in OpenAI's chat messages.
/// </summary>
public sealed record ChatMessage(string Role, string Content)
{
    /// <summary>The roles every chat template here renders.</summary>
    public static readonly IReadOnlyList<string> Roles = ["system", "user", "assistant"];
}
