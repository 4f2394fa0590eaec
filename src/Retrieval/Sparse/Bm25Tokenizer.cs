namespace Mesh.Retrieval.Sparse;

/// <summary>
/// The tokenizer of the BM25 index, built for product catalogues where codes matter as much as words.
/// <list type="bullet">
/// <item>Every maximal run of letters and digits is a token, lowercased (invariant culture): "Trail-Runner 2"
/// gives "trail", "runner", "2".</item>
/// <item>A chain of such runs joined by single '-', '_', '.' or '/' that holds at least one digit is a code: it is
/// kept whole, with its parts that hold a digit ("SKU-1042" gives "1042" and "sku-1042"; "v1.2" gives "v1", "2"
/// and "v1.2"). Its letter-only parts ("sku") are left out: they are the prefix many codes share, and indexed
/// alone they would put every product into the BM25 ranking of a SKU query, where reciprocal rank fusion
/// would weigh them as much as the one exact match. Chains without digits ("e-mail") are only split, so
/// ordinary hyphenated words behave as words.</item>
/// </list>
/// Tokens longer than <see cref="MaxTokenLength"/> characters are cut there, so no input builds unbounded terms.
/// </summary>
public static class Bm25Tokenizer
{
    /// <summary>Longest token kept, in UTF-16 characters; longer ones are truncated.</summary>
    public const int MaxTokenLength = 64;

    /// <summary>The tokens of <paramref name="text"/>, in order of appearance (duplicates kept, for term frequencies).</summary>
    public static List<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        var i = 0;
        while (i < text.Length)
        {
            if (!char.IsLetterOrDigit(text[i]))
            {
                i++;
                continue;
            }
            // One chain: runs of letters/digits joined by single connectors.
            var chainStart = i;
            var runs = new List<(int Start, int Length, bool HasDigit)>();
            while (true)
            {
                var runStart = i;
                var runHasDigit = false;
                while (i < text.Length && char.IsLetterOrDigit(text[i]))
                {
                    runHasDigit |= char.IsDigit(text[i]);
                    i++;
                }
                runs.Add((runStart, i - runStart, runHasDigit));
                if (i + 1 < text.Length && IsConnector(text[i]) && char.IsLetterOrDigit(text[i + 1]))
                {
                    i++;
                    continue;
                }
                break;
            }
            var isCode = runs.Count > 1 && runs.Any(r => r.HasDigit);
            foreach (var run in runs)
            {
                // A code's letter-only parts ("sku" of SKU-1042) are prefixes that many codes share: indexed on
                // their own they would put every product in a SKU query's BM25 ranking.
                if (!isCode || run.HasDigit)
                {
                    tokens.Add(Normalize(text.AsSpan(run.Start, run.Length)));
                }
            }
            if (isCode)
            {
                tokens.Add(Normalize(text.AsSpan(chainStart, i - chainStart)));
            }
        }
        return tokens;
    }

    private static bool IsConnector(char c) => c is '-' or '_' or '.' or '/';

    private static string Normalize(ReadOnlySpan<char> token) =>
        (token.Length > MaxTokenLength ? token[..MaxTokenLength] : token).ToString().ToLowerInvariant();
}
