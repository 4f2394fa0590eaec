using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Chat;

/// <summary>
/// A conversation rendered with a chat template: the prompt <see cref="Text"/> and, in order, the
/// <see cref="ContentSpans"/> where it holds the messages' contents (UTF-16 ranges, none empty). The
/// template's own text (role markers, turn ends) is encoded with special tokens parsed, the contents as
/// plain text (<see cref="ITokenizer.EncodeRendered"/>), so no message can write a control token.
/// </summary>
public sealed record ChatPrompt(string Text, IReadOnlyList<TextSpan> ContentSpans);
