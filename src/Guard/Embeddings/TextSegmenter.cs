namespace Mesh.Guard.Embeddings;

/// <summary>
/// Splits text into sentence-sized segments for embedding. Sentence-level vectors keep a short
/// attack or an off-topic sentence from being diluted by the rest of a long text, and bound the
/// cost: the model's work grows with total tokens, not with the number of segments. A segment ends
/// at a line break, at '.', '!' or '?' followed by white space or the end of the text, or after
/// <see cref="MaxWords"/> words; segments without a letter are dropped.
/// </summary>
public static class TextSegmenter
{
    /// <summary>Longest segment in words; longer sentences are cut (MiniLM reads 256 tokens at most).</summary>
    public const int MaxWords = 48;

    /// <summary>A segment: [Start, End) in UTF-16 units, trimmed; Complete when a sentence end or line break closed it.</summary>
    public readonly record struct Segment(int Start, int End, bool Complete);

    /// <summary>The segments of a whole text; the last one may be incomplete.</summary>
    public static List<Segment> Split(string text)
    {
        var segments = new List<Segment>();
        new Scanner().Advance(text, final: true, segments);
        return segments;
    }

    /// <summary>
    /// Segments a text that grows (a stream) by reading each character once: every call reads
    /// what arrived since the last, so the total work is linear in the text, however it is chunked.
    /// The same segments as <see cref="Split"/> of the whole text, each reported once, when complete.
    /// </summary>
    public sealed class Scanner
    {
        private int _position;
        private int _start = -1;
        private int _end;
        private int _words;
        private bool _inWord;
        private bool _hasLetter;

        /// <summary>Characters read so far (each character is read once).</summary>
        public long Read { get; private set; }

        /// <summary>
        /// Reads <paramref name="text"/> (the whole text so far, of which the previous calls saw a
        /// prefix) and adds the segments it completes. A sentence mark at the very end waits for the
        /// next character unless <paramref name="final"/>; when final, the open segment is closed too.
        /// </summary>
        public void Advance(ReadOnlySpan<char> text, bool final, List<Segment> into)
        {
            for (; _position < text.Length; _position++)
            {
                var i = _position;
                var c = text[i];
                var mark = c is '.' or '!' or '?';
                if (mark && i + 1 == text.Length && !final)
                {
                    // Whether "example." ends a sentence depends on the next character ("example.com").
                    return;
                }
                Read++;
                var space = char.IsWhiteSpace(c);
                if (_start < 0)
                {
                    if (space)
                    {
                        continue;
                    }
                    _start = i;
                    _words = 0;
                    _inWord = false;
                    _hasLetter = false;
                }
                if (!space)
                {
                    if (!_inWord)
                    {
                        _words++;
                    }
                    _end = i + 1;
                    _hasLetter |= char.IsLetter(c);
                }
                _inWord = !space;

                var lineBreak = c == '\n';
                var sentenceEnd = mark && (i + 1 == text.Length || char.IsWhiteSpace(text[i + 1]));
                var tooLong = space && _words >= MaxWords;
                if (lineBreak || sentenceEnd || tooLong)
                {
                    Close(into, complete: true);
                }
            }
            if (final && _start >= 0)
            {
                Close(into, complete: false);
            }
        }

        private void Close(List<Segment> into, bool complete)
        {
            // Segments without a letter (numbers, punctuation, code braces) carry no meaning to embed.
            if (_hasLetter)
            {
                into.Add(new Segment(_start, _end, complete));
            }
            _start = -1;
        }
    }
}
