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
    private readonly HashSet<int> _userDefined = [];

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
                    _userDefined.Add(id);
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
    /// (<c>Start</c>/<c>Length</c> of their text). With <paramref name="plainSpans"/> (sorted, not
    /// overlapping; only with <paramref name="parseSpecial"/>), a control or unknown token's text that
    /// touches a span is left as text there; user-defined tokens are cut everywhere, as without parseSpecial.
    /// </summary>
    public List<(int Start, int Length, int TokenId)> Split(string text, bool parseSpecial, IReadOnlyList<TextSpan>? plainSpans = null)
    {
        if (plainSpans is not null)
        {
            CheckSpans(text, plainSpans);
        }

        var pieces = new List<(int Start, int Length, int TokenId)> { (0, text.Length, -1) };
        foreach (var (id, special) in parseSpecial ? _withSpecial : _always)
        {
            var spans = plainSpans is null || _userDefined.Contains(id) ? null : plainSpans;
            List<(int, int, int)>? next = null;
            for (int p = 0; p < pieces.Count; p++)
            {
                var (start, length, tokenId) = pieces[p];
                int end = start + length;
                int found = tokenId < 0 ? Find(text, special, start, end, spans) : -1;
                if (found < 0)
                {
                    next?.Add(pieces[p]);
                    continue;
                }

                next ??= pieces.GetRange(0, p);
                while (found >= 0)
                {
                    if (found > start)
                    {
                        next.Add((start, found - start, -1));
                    }

                    next.Add((found, special.Length, id));
                    start = found + special.Length;
                    found = Find(text, special, start, end, spans);
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

    // The first occurrence of special in text[start..end) that touches no plain span.
    private static int Find(string text, string special, int start, int end, IReadOnlyList<TextSpan>? plainSpans)
    {
        while (start < end)
        {
            int found = text.IndexOf(special, start, end - start, StringComparison.Ordinal);
            if (found < 0 || plainSpans is null)
            {
                return found;
            }

            // The first span ending after the match's start; the match touches it unless it starts after the match.
            int lo = 0, hi = plainSpans.Count;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (plainSpans[mid].End <= found)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            if (lo == plainSpans.Count || plainSpans[lo].Start >= found + special.Length)
            {
                return found;
            }

            // Every later match starting before the span's end touches it too.
            start = plainSpans[lo].End;
        }

        return -1;
    }

    private static void CheckSpans(string text, IReadOnlyList<TextSpan> spans)
    {
        int previousEnd = 0;
        for (int i = 0; i < spans.Count; i++)
        {
            var span = spans[i];
            if (span.Start < previousEnd || span.Length < 0 || span.End > text.Length)
            {
                throw new ArgumentException(
                    $"plain span {i} ({span.Start}, length {span.Length}) must lie within the text (length {text.Length}), after the previous span and not overlap it",
                    "plainSpans");
            }

            previousEnd = span.End;
        }
    }

    private static (int, string)[] Order(List<(int Id, string Text, int Bytes)> tokens) =>
        [.. tokens.OrderByDescending(t => t.Bytes).ThenBy(t => t.Id).Select(t => (t.Id, t.Text))];
}
