namespace Mesh.Inference.Tokenization;

/// <summary>
/// What a vocabulary entry is. The numbers are SentencePiece's piece types, which GGUF stores unchanged in
/// <c>tokenizer.ggml.token_type</c>.
/// </summary>
public enum TokenKind
{
    /// <summary>An ordinary piece of text; spaces written as U+2581.</summary>
    Normal = 1,

    /// <summary>The unknown-token placeholder (<c>&lt;unk&gt;</c>).</summary>
    Unknown = 2,

    /// <summary>A control token such as BOS or EOS; it has no text.</summary>
    Control = 3,

    /// <summary>A piece added by whoever trained or extended the vocabulary; text like <see cref="Normal"/>.</summary>
    UserDefined = 4,

    /// <summary>A reserved piece that encoding never produces.</summary>
    Unused = 5,

    /// <summary>One raw byte, written <c>&lt;0x0A&gt;</c>; byte fallback for characters outside the vocabulary.</summary>
    Byte = 6,
}
