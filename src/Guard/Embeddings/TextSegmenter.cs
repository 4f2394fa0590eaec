namespace Mesh.Guard.Embeddings;

/// <summary>
/// Splits text into sentence-sized segments for embedding. Sentence-level vectors keep a short
/// attack or an off-topic sentence from being diluted by the rest of a long text, and bound the
/// cost: the model's work grows with total tokens, not with the number of segments.
/// </summary>
public static class TextSegmenter
{
    /// <summary>Longest segment in words; longer sentences are cut (MiniLM reads 256 tokens at most).</summary>
    public const int MaxWords = 48;

    /// <summary>A segment: [Start, End) in UTF-16 units, trimmed; Complete when a sentence end or line break closed it.</summary>
    public readonly record struct Segment(int Start, int End, bool Complete);

    public static List<Segment> Split(string text)
    {
        var segments = new List<Segment>();
        var start = -1;
        var words = 0;
        var inWord = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var space = char.IsWhiteSpace(c);
            if (start < 0)
            {
                if (space)
                {
                    continue;
                }
                start = i;
                words = 0;
                inWord = false;
            }
            if (!space && !inWord)
            {
                words++;
            }
            inWord = !space;

            var lineBreak = c == '\n';
            var sentenceEnd = (c is '.' or '!' or '?') && (i + 1 == text.Length || char.IsWhiteSpace(text[i + 1]));
            var tooLong = space && words >= MaxWords;
            if (lineBreak || sentenceEnd || tooLong)
            {
                Add(segments, text, start, lineBreak || tooLong ? i : i + 1, complete: true);
                start = -1;
            }
        }
        if (start >= 0)
        {
            Add(segments, text, start, text.Length, complete: false);
        }
        return segments;
    }

    private static void Add(List<Segment> segments, string text, int start, int end, bool complete)
    {
        while (end > start && char.IsWhiteSpace(text[end - 1]))
        {
            end--;
        }
        // Segments without a letter (numbers, punctuation, code braces) carry no meaning to embed.
        for (var i = start; i < end; i++)
        {
            if (char.IsLetter(text[i]))
            {
                segments.Add(new Segment(start, end, complete));
                return;
            }
        }
    }
}
