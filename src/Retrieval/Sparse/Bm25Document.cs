namespace Mesh.Retrieval.Sparse;

/// <summary>
/// One point's document as the BM25 index sees it: the frequency of each distinct term, and the length in
/// tokens (BM25's |D|). Immutable, built once per point version.
/// </summary>
internal sealed class Bm25Document
{
    /// <summary>The document of a point without text.</summary>
    public static readonly Bm25Document Empty = new(new Dictionary<string, int>(StringComparer.Ordinal), 0);

    private Bm25Document(Dictionary<string, int> frequencies, int length)
    {
        Frequencies = frequencies;
        Length = length;
    }

    /// <summary>Distinct term → occurrences in the document.</summary>
    public IReadOnlyDictionary<string, int> Frequencies { get; }

    /// <summary>Tokens in the document.</summary>
    public int Length { get; }

    /// <summary>Tokenizes the texts (one document, texts joined) with <see cref="Bm25Tokenizer"/>.</summary>
    public static Bm25Document From(IEnumerable<string> texts)
    {
        var frequencies = new Dictionary<string, int>(StringComparer.Ordinal);
        var length = 0;
        foreach (var text in texts)
        {
            foreach (var token in Bm25Tokenizer.Tokenize(text))
            {
                frequencies[token] = frequencies.GetValueOrDefault(token) + 1;
                length++;
            }
        }
        return length == 0 ? Empty : new Bm25Document(frequencies, length);
    }
}
