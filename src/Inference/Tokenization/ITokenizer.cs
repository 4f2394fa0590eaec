namespace Mesh.Inference.Tokenization;

/// <summary>
/// What the engine, the gRPC service and the CLI need from a model's tokenizer, whichever algorithm the
/// model file names: SentencePiece BPE (<see cref="SentencePieceTokenizer"/>, GGUF <c>tokenizer.ggml.model
/// = "llama"</c>) or byte-level BPE (<see cref="ByteLevelBpeTokenizer"/>, <c>"gpt2"</c>). Implementations
/// are immutable and safe to use from many requests at once; ids are 0 to <see cref="VocabSize"/> - 1 and
/// any id outside that range is an <see cref="ArgumentOutOfRangeException"/> naming the valid range.
/// </summary>
public interface ITokenizer
{
    /// <summary>Number of tokens in the vocabulary.</summary>
    int VocabSize { get; }

    /// <summary>Beginning-of-sequence token id.</summary>
    int BosId { get; }

    /// <summary>End-of-sequence token id.</summary>
    int EosId { get; }

    /// <summary>Whether the model's prompts start with BOS unless a caller says otherwise (GGUF <c>tokenizer.ggml.add_bos_token</c>).</summary>
    bool AddBosByDefault { get; }

    /// <summary>Whether the model's prompts end with EOS (GGUF <c>tokenizer.ggml.add_eos_token</c>); added only by <see cref="Encode(string, bool, bool)"/> callers that ask for it.</summary>
    bool AddEosByDefault { get; }

    /// <summary>
    /// Every token that ends a generation, as llama.cpp's vocabulary computes it: EOS, the metadata's
    /// <c>eot</c>/<c>eom</c> ids and tokens such as <c>&lt;|im_end|&gt;</c>, <c>&lt;|eot_id|&gt;</c>,
    /// <c>&lt;end_of_turn&gt;</c>, <c>&lt;|end|&gt;</c> (<see cref="EndOfGeneration"/>).
    /// </summary>
    IReadOnlySet<int> EndOfGenerationIds { get; }

    /// <summary>The Jinja chat template the model file carries (<c>tokenizer.chat_template</c>), or null.</summary>
    string? ChatTemplate { get; }

    /// <summary>The ids of <paramref name="text"/>, preceded by BOS when <paramref name="addBos"/>; special-token text is plain text.</summary>
    int[] Encode(string text, bool addBos);

    /// <summary>
    /// As <see cref="Encode(string, bool)"/>; with <paramref name="parseSpecial"/> the text of control
    /// tokens (<c>&lt;|im_start|&gt;</c>, <c>&lt;s&gt;</c>) becomes those tokens, as llama.cpp's
    /// <c>parse_special</c>. Use it only for text the server itself rendered (chat templates), never for
    /// user text, or a user could forge turns.
    /// </summary>
    int[] Encode(string text, bool addBos, bool parseSpecial);

    /// <summary>
    /// The ids of a prompt the server rendered around untrusted text (a chat template around message
    /// contents): control-token text is parsed as with <c>parseSpecial</c>, except where any of its
    /// characters lies inside one of <paramref name="plainSpans"/> (sorted by start, not overlapping):
    /// there it is plain text, as <see cref="Encode(string, bool)"/> encodes it (llama.cpp's
    /// <c>parse_special = false</c> for user text). So a message holding <c>&lt;|im_end|&gt;</c> is
    /// encoded as those characters and cannot close its turn; text without control-token text in the
    /// spans encodes exactly as with <c>parseSpecial</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A span lies outside <paramref name="text"/>, or the spans are unsorted or overlap.</exception>
    int[] EncodeRendered(string text, bool addBos, IReadOnlyList<TextSpan> plainSpans);

    /// <summary>The text of <paramref name="ids"/>; control tokens have none; invalid UTF-8 becomes U+FFFD.</summary>
    string Decode(ReadOnlySpan<int> ids);

    /// <summary>One token in readable form, for log-probabilities.</summary>
    string TokenText(int id);

    /// <summary>Whether <paramref name="id"/> is a token of this vocabulary.</summary>
    bool IsValid(int id);

    /// <summary>Whether generating <paramref name="id"/> ends the generation (finish reason STOP).</summary>
    bool IsEndOfGeneration(int id);

    /// <summary>
    /// The UTF-8 bytes token <paramref name="id"/> contributes to a text. <paramref name="atStart"/> says no
    /// earlier token had text (SentencePiece then drops the dummy-prefix space) and is updated.
    /// <see cref="Decode"/> and <see cref="StreamingDetokenizer"/> both go through here.
    /// </summary>
    ReadOnlySpan<byte> TokenBytes(int id, ref bool atStart);

    /// <summary>A detokenizer for one stream of generated tokens, starting at the beginning of a text.</summary>
    StreamingDetokenizer CreateStreamingDetokenizer();

    /// <summary>
    /// A detokenizer for tokens generated after <paramref name="precedingIds"/> (the prompt): the first
    /// generated token keeps its leading space unless nothing before it has text.
    /// </summary>
    StreamingDetokenizer CreateStreamingDetokenizer(ReadOnlySpan<int> precedingIds);
}
