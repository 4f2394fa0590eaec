namespace Mesh.Inference.Tokenization;

/// <summary>
/// A byte-level BPE vocabulary as a GGUF file carries it (<c>tokenizer.ggml.model = "gpt2"</c>).
/// <paramref name="Tokens"/>: normal tokens spelled in GPT-2's byte alphabet (<c>"Ġthe"</c>), control and
/// user-defined tokens as plain text (<c>"&lt;|im_start|&gt;"</c>); <paramref name="Merges"/>: <c>"Ġ t"</c>
/// pairs, earliest first (the merge rank); <paramref name="PreTokenizer"/>: the <c>tokenizer.ggml.pre</c>
/// name (null: llama.cpp's default); <paramref name="EndOfGenerationIds"/>: ids that metadata names as
/// ending a turn (<c>eot</c>, <c>eom</c>), EOS and tokens known by their text are added by the tokenizer.
/// </summary>
public sealed record BpeVocabulary(
    IReadOnlyList<string> Tokens,
    IReadOnlyList<string> Merges,
    IReadOnlyList<TokenKind> Kinds,
    string? PreTokenizer,
    int BosId,
    int EosId,
    bool AddBos,
    bool AddEos,
    IReadOnlyList<int> EndOfGenerationIds,
    string? ChatTemplate)
{
    /// <summary>What is wrong with the vocabulary, or null when it can be used.</summary>
    public string? FindProblem()
    {
        if (Tokens.Count == 0)
        {
            return "it has no tokens";
        }

        if (Kinds.Count != Tokens.Count)
        {
            return $"it has {Tokens.Count} tokens but {Kinds.Count} token types";
        }

        foreach (var (name, id) in new[] { ("BOS", BosId), ("EOS", EosId) }.Concat(EndOfGenerationIds.Select(id => ("end-of-generation", id))))
        {
            if ((uint)id >= (uint)Tokens.Count)
            {
                return $"the {name} id {id} is outside the vocabulary of {Tokens.Count} tokens";
            }
        }

        for (int i = 0; i < Merges.Count; i++)
        {
            if (Merges[i].IndexOf(' ', 1) < 1 || Merges[i].IndexOf(' ', Merges[i].IndexOf(' ', 1) + 1) >= 0)
            {
                return $"merge {i} (\"{Merges[i]}\") is not two tokens separated by one space";
            }
        }

        return null;
    }
}
