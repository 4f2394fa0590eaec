using System.Globalization;
using System.Text;

namespace Mesh.Guard.Detectors.Ner;

/// <summary>
/// Splits a text into the words BERT's basic tokenizer makes (Devlin et al., google-research/bert
/// <c>tokenization.py</c>, <c>BasicTokenizer</c>): whitespace separates words; every punctuation
/// character (Unicode category P*, and ASCII <c>!"#$%&amp;'()*+,-./:;&lt;=&gt;?@[\]^_`{|}~</c>) and every CJK
/// ideograph is a word of its own. Splitting here, on the original text, is what keeps each word's
/// span exact: the WordPiece tokenizer then normalises (lower-cases, strips accents, drops control
/// characters) one word at a time, and whatever that does to the word's length, its pieces still
/// belong to the word's original [Start, End). Spans never split a surrogate pair.
/// </summary>
public static class WordSplitter
{
    /// <summary>A word of the text: [Start, End) in UTF-16 units of the original text.</summary>
    public readonly record struct Word(int Start, int End);

    /// <summary>The words of <paramref name="text"/> in order.</summary>
    public static List<Word> Split(string text)
    {
        var words = new List<Word>();
        var start = -1;
        var i = 0;
        while (i < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out var length);
            if (IsWhitespace(rune))
            {
                Close(words, ref start, i);
            }
            else if (IsPunctuation(rune) || IsCjk(rune.Value))
            {
                Close(words, ref start, i);
                words.Add(new Word(i, i + length));
            }
            else if (start < 0)
            {
                // Control and format characters stay inside a word: BERT deletes them without
                // splitting ("Al\u200Bice" is "Alice"), and so does the tokenizer's normaliser.
                start = i;
            }
            i += length;
        }
        Close(words, ref start, text.Length);
        return words;
    }

    private static void Close(List<Word> words, ref int start, int end)
    {
        if (start >= 0)
        {
            words.Add(new Word(start, end));
            start = -1;
        }
    }

    // BERT's _is_chinese_char: the CJK Unified Ideographs blocks and their extensions (not Hangul or kana).
    private static bool IsCjk(int c) =>
        c is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;

    private static bool IsWhitespace(Rune r) =>
        r.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(r) == UnicodeCategory.SpaceSeparator;

    private static bool IsPunctuation(Rune r)
    {
        var c = r.Value;
        if (c is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126)
        {
            return true;
        }
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }
}
