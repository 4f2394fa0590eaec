namespace Mesh.Inference.Tokenization;

/// <summary>
/// Which tokens end a generation. Chat models stop at an end-of-turn token (<c>&lt;|im_end|&gt;</c>,
/// <c>&lt;|eot_id|&gt;</c>, <c>&lt;end_of_turn&gt;</c>…), not at EOS, and most GGUF files name only EOS in
/// their metadata; llama.cpp therefore also recognises those tokens by their text (llama-vocab.cpp,
/// "maintain a list of tokens that cause end-of-generation"). Mesh uses the same rule so that a model
/// stops where it stops under llama.cpp.
/// </summary>
public static class EndOfGeneration
{
    /// <summary>Token texts that end a generation wherever they occur in a vocabulary (llama.cpp's list).</summary>
    public static readonly IReadOnlyList<string> TokenTexts =
    [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>", "<|endoftext|>",
        "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
    ];

    /// <summary>
    /// Fill-in-the-middle padding/separator tokens, which llama.cpp also counts as end of generation
    /// (a FIM model that emits them is done).
    /// </summary>
    public static readonly IReadOnlyList<string> FillInTheMiddleTexts =
    [
        "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
        "<reponame>", "<|file_sep|>",
    ];

    /// <summary>
    /// The set for a vocabulary: <paramref name="eosId"/>, the ids given in metadata
    /// (<paramref name="metadataIds"/>: <c>eot</c>, <c>eom</c>, FIM ids) and every token whose text is in
    /// <see cref="TokenTexts"/> or <see cref="FillInTheMiddleTexts"/>. As llama.cpp does, when a vocabulary
    /// has <c>&lt;|return|&gt;</c> and <c>&lt;|call|&gt;</c> (OpenAI's harmony format) <c>&lt;|end|&gt;</c> ends a
    /// message but not the generation, so it is left out.
    /// </summary>
    public static IReadOnlySet<int> Compute(IReadOnlyList<string> tokens, int eosId, IEnumerable<int> metadataIds)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var ids = new HashSet<int> { eosId };
        ids.UnionWith(metadataIds);
        var named = new HashSet<string>(TokenTexts.Concat(FillInTheMiddleTexts), StringComparer.Ordinal);
        int? end = null;
        bool hasReturn = false, hasCall = false;
        for (int id = 0; id < tokens.Count; id++)
        {
            string text = tokens[id];
            if (!named.Contains(text))
            {
                continue;
            }

            ids.Add(id);
            hasReturn |= text == "<|return|>";
            hasCall |= text == "<|call|>";
            end = text == "<|end|>" ? id : end;
        }

        if (hasReturn && hasCall && end is int endId)
        {
            ids.Remove(endId);
        }

        return ids;
    }

    /// <summary>Whether llama.cpp treats a token with this text as a control token whatever its type says.</summary>
    public static bool LooksLikeControl(string text) => TokenTexts.Contains(text) || FillInTheMiddleTexts.Contains(text);
}
