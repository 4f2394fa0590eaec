namespace Mesh.Inference.Chat;

/// <summary>
/// A chat template Mesh can render: a model's Jinja <c>tokenizer.chat_template</c> recognised as one of
/// the common families, or one chosen by name (<c>--chat-template</c>). No .NET Jinja engine is
/// available to Mesh, so, as llama.cpp did before it embedded one, templates are recognised from their
/// text (<see cref="ChatTemplateDetector"/>) and rendered by code (<see cref="ChatTemplateRenderer"/>).
/// Immutable.
/// </summary>
public sealed class ChatTemplate
{
    /// <summary>The family names Mesh renders, as llama.cpp names them.</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        "chatml", "llama2", "llama2-sys", "llama2-sys-bos", "llama2-sys-strip", "llama3", "mistral-v1", "mistral-v3",
        "mistral-v3-tekken", "mistral-v7", "mistral-v7-tekken", "phi3", "gemma", "zephyr", "deepseek", "deepseek2", "deepseek3",
    ];

    private ChatTemplate(string name) => Name = name;

    /// <summary>The family name (<see cref="Names"/>).</summary>
    public string Name { get; }

    /// <summary>
    /// The template for a model: <paramref name="configured"/> (a family name or a Jinja template text,
    /// from <c>--chat-template</c>) when given, else the model's own <paramref name="modelTemplate"/>.
    /// </summary>
    /// <exception cref="ChatTemplateException">There is no template, or it is not one Mesh recognises; the message names the fix.</exception>
    public static ChatTemplate Resolve(string? configured, string? modelTemplate)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return FromNameOrText(configured, "the configured chat template (--chat-template)");
        }

        if (string.IsNullOrWhiteSpace(modelTemplate))
        {
            throw new ChatTemplateException($"the model has no chat template (tokenizer.chat_template); choose one with --chat-template ({string.Join(", ", Names)})");
        }

        return FromNameOrText(modelTemplate, "the model's chat template");
    }

    /// <summary>Whether <paramref name="configured"/> names or contains a template Mesh renders; for checking configuration at start-up.</summary>
    public static bool TryParse(string configured, out ChatTemplate? template, out string? error)
    {
        try
        {
            template = FromNameOrText(configured, "the configured chat template (--chat-template)");
            error = null;
            return true;
        }
        catch (ChatTemplateException e)
        {
            template = null;
            error = e.Message;
            return false;
        }
    }

    /// <summary>
    /// The prompt text for <paramref name="messages"/>; with <paramref name="addGenerationPrompt"/> the
    /// opening of the assistant's turn is appended where the family has one. The text of
    /// <see cref="RenderPrompt"/>, for display and tests; a model is given <see cref="RenderPrompt"/>'s encoding.
    /// </summary>
    /// <exception cref="ArgumentException">A message has a role outside <see cref="ChatMessage.Roles"/>.</exception>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt) => RenderPrompt(messages, addGenerationPrompt).Text;

    /// <summary>
    /// As <see cref="Render"/>, with where the messages' contents stand in the text. Encode it with
    /// <see cref="Tokenization.ITokenizer.EncodeRendered"/> (the template's special tokens parsed, the
    /// contents as plain text) and BOS as the model's metadata says.
    /// </summary>
    /// <exception cref="ArgumentException">A message has a role outside <see cref="ChatMessage.Roles"/>.</exception>
    public ChatPrompt RenderPrompt(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        ArgumentNullException.ThrowIfNull(messages);
        for (int i = 0; i < messages.Count; i++)
        {
            if (!ChatMessage.Roles.Contains(messages[i].Role))
            {
                throw new ArgumentException($"messages[{i}].role is '{messages[i].Role}'; it must be one of {string.Join(", ", ChatMessage.Roles)}", nameof(messages));
            }
        }

        return ChatTemplateRenderer.Render(Name, messages, addGenerationPrompt);
    }

    private static ChatTemplate FromNameOrText(string nameOrText, string what)
    {
        if (Names.Contains(nameOrText))
        {
            return new ChatTemplate(nameOrText);
        }

        return ChatTemplateDetector.Detect(nameOrText) switch
        {
            { Supported: true } found => new ChatTemplate(found.Name),
            { } found => throw new ChatTemplateException($"{what} is of the '{found.Name}' family, which Mesh does not render; choose one with --chat-template ({string.Join(", ", Names)})"),
            null => throw new ChatTemplateException($"{what} is not one Mesh recognises (it renders {string.Join(", ", Names)}); choose one with --chat-template"),
        };
    }
}

/// <summary>A chat template is missing or not one Mesh can render; the message says how to choose one.</summary>
public sealed class ChatTemplateException(string message) : Exception(message);
