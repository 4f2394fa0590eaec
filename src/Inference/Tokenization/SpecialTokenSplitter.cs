namespace Mesh.Inference.Tokenization;

/// <summary>
/// Cuts text at the occurrences of special tokens before BPE sees it, as llama.cpp's
/// <c>tokenizer_st_partition</c> does: tokens are tried longest first (by UTF-8 length; equal lengths by
/// id), each splitting every text piece left by the longer ones. User-defined tokens are always cut out
/// (Hugging Face's added tokens behave so); control and unknown tokens only when the caller parses
/// special tokens. Immutable.
/// </summary>
internal sealed class SpecialTokenSplitter
{
    private readonly (int Id, string Text)[] _always;
    private readonly (int Id, string Text)[] _withSpecial;

    public SpecialTokenSplitter(IReadOnlyList<string> texts, IReadOnlyList<TokenKind> kinds)
    {
        var always = new List<(int, string, int)>();
        var all = new List<(int, string, int)>();
        for (int id = 0; id < texts.Count; id++)
        {
            if (texts[id].Length == 0)
            {
                continue;
            }

            var entry = (id, texts[id], System.Text.Encoding.UTF8.GetByteCount(texts[id]));
            switch (kinds[id])
            {
                case TokenKind.UserDefined:
                    always.Add(entry);
                    all.Add(entry);
                    break;
                case TokenKind.Control or TokenKind.Unknown:
                    all.Add(entry);
                    break;
            }
        }

        _always = Order(always);
        _withSpecial = Order(all);
    }

    /// <summary>Whether anything would ever be cut without <c>parseSpecial</c>.</summary>
    public bool HasUserDefined => _always.Length > 0;

    /// <summary>
    /// The pieces of <paramref name="text"/> in order: text ranges (<c>TokenId</c> -1) and special tokens
    /// (<c>Start</c>/<c>Length</c> of their text).
    /// </summary>
    public List<(int Start, int Length, int TokenId)> Split(string text, bool parseSpecial)
    {
        var pieces = new List<(int Start, int Length, int TokenId)> { (0, text.Length, -1) };
        foreach (var (id, special) in parseSpecial ? _withSpecial : _always)
        {
            List<(int, int, int)>? next = null;
            for (int p = 0; p < pieces.Count; p++)
            {
                var (start, length, tokenId) = pieces[p];
                int found = tokenId < 0 ? text.IndexOf(special, start, length, StringComparison.Ordinal) : -1;
                if (found < 0)
                {
                    next?.Add(pieces[p]);
                    continue;
                }

                next ??= pieces.GetRange(0, p);
                int end = start + length;
                while (found >= 0)
                {
                    if (found > start)
                    {
                        next.Add((start, found - start, -1));
                    }

                    next.Add((found, special.Length, id));
                    start = found + special.Length;
                    found = start < end ? text.IndexOf(special, start, end - start, StringComparison.Ordinal) : -1;
                }

                if (start < end)
                {
                    next.Add((start, end - start, -1));
                }
            }

            pieces = next ?? pieces;
        }

        return pieces;
    }

    private static (int, string)[] Order(List<(int Id, string Text, int Bytes)> tokens) =>
        [.. tokens.OrderByDescending(t => t.Bytes).ThenBy(t => t.Id).Select(t => (t.Id, t.Text))];
}
