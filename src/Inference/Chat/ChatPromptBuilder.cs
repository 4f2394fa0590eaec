using System.Text;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Chat;

/// <summary>
/// Builds a <see cref="ChatPrompt"/>: <see cref="Append(string)"/> for the template's own text,
/// <see cref="Content"/> for message text, whose place it records so that the tokenizer treats it as
/// plain text.
/// </summary>
internal sealed class ChatPromptBuilder
{
    private readonly StringBuilder _text = new();
    private readonly List<TextSpan> _contents = [];

    public ChatPromptBuilder Append(string template)
    {
        _text.Append(template);
        return this;
    }

    public ChatPromptBuilder Append(char template)
    {
        _text.Append(template);
        return this;
    }

    public ChatPromptBuilder Content(string content)
    {
        if (content.Length > 0)
        {
            _contents.Add(new TextSpan(_text.Length, content.Length));
            _text.Append(content);
        }

        return this;
    }

    public ChatPrompt Build() => new(_text.ToString(), _contents.ToArray());
}
