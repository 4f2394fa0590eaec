using System.Text.RegularExpressions;
using Mesh.Guard.Detectors.Pii;

namespace Mesh.Guard.Detectors;

/// <summary>
/// Tells an attack from the same words used as content, by looking at the sentence around them
/// (issue 20): a user taking back their own earlier message ("disregard my previous message"),
/// an attack phrase quoted to ask about, translate or process it, and talk about prompt injection
/// are content; words addressed to the model inside a quoted document ("Assistant, disregard …",
/// "to the AI reading this"), chat-template delimiters, and a quote the user asks the model to
/// follow stay attacks. Rules, not a model: each clause names one framing, so a miss can be read
/// and fixed. An attacker who wraps an attack in a discussion sentence is still caught by any rule
/// or sentence outside that sentence.
/// </summary>
public static class InjectionFraming
{
    /// <summary>How far around a rule's match its sentence and quotes are looked for, in UTF-16 units each way.</summary>
    public const int Window = 240;

    private static Regex P(string pattern) => PatternRecognizer.Compile(pattern, RegexOptions.IgnoreCase);

    // Words spoken to the model from inside a document: an indirect injection, never content.
    private static readonly Regex AddressesModel = P(
        @"\b(?:AI|assistant|(?:language\s+)?models?|LLMs?|chat\s?bots?|agents?|GPT)\s{0,4}[,:]|\b(?:AI|assistant|language\s+models?|LLMs?|models?|agents?)\s+(?:reading|processing|process(?:es)?|that\s+reads?)\b|\b(?:to|for)\s+(?:the|any|all)\s+(?:AI|assistant|language\s+models?|LLMs?)\b|\bfor\s+AI\s+agents\b|\bnote\s+to\s+the\b|\bhidden\s+text\b|<!--|\[/?INST\]|<\|");

    // A retraction of the user's own words: the object is first person, not the model's instructions.
    private static readonly Regex Retraction = P(@"\b(?:ignore|disregard|forget|scratch|skip|drop|never\s+mind)\b");

    private static readonly Regex OwnWords = P(
        @"\b(?:my|our)\s+(?:(?:own|last|previous|prior|earlier|first|second|initial|above|two|latest)\s+){0,2}(?:messages?|questions?|requests?|prompts?|instructions|emails?|complaint|directions|context|answers?|comments?|notes?|reply|post)\b|\b(?:what|instructions|rules|guidelines|constraints|directions|everything)\s+I\s+(?:said|wrote|asked|gave|listed|sent|mentioned|typed)\b");

    private static readonly Regex SecondPerson = P(@"\b(?:your|you\s+were|system|developers?)\b");

    // Talk about attacks rather than an attack: the phrase is the topic of the sentence.
    private static readonly Regex Discussion = P(
        @"\bprompt[- ]injections?\b|\bjailbreak(?:s|ing)?\s+(?:attempts?|prompts?|attacks?|examples?|mode\b.{0,40}\bmean)|\b(?:injection|jailbreak|extraction|override|exfiltration)\s+attacks?\b|\bthe\s+(?:phrase|string|sentence|words|quote|subject\s+line|banner|meme|slide\s+title|warning|quoted\s+text)\b|\bwhat\s+does\b.{0,80}\bmean\b|\bmeans?\s+in\b|\bexamples?\s+(?:of|like)\b|\bas\s+an\s+example\b|\battackers?\b|\badversarial\b|\bclassifiers?\b|\bflagged\b|\bdetect(?:ed|s|ion|ors?)?\b|\bOWASP\b|\bred\s+team\s+report\b|\bsecurity\s+(?:training|research|awareness|course)\b|\bresearchers?\b|\bpapers?\b|\blecture\b|\bexplainer\b|\bquiz\b|\bblog\s+post\b|\bdefen[cs]es?\b|\bwhy\s+(?:do|does|did|would|\w+ing)\b|\bhow\s+(?:do|does|should|would)\s+(?:you|I)\s+(?:say|translate)\b");

    private static readonly Regex Translation = P(@"\b(?:translat\w{0,8}|in\s+(?:English|German|French|Spanish|Italian|Japanese|Korean|Hebrew|Arabic|Russian|Polish|Dutch|Greek|Turkish|Czech|Hindi|Swedish|Portuguese)|for\s+my\s+slides)\b");

    // Outside the quotes, the user asks the model to carry the quote out, or to drop its limits.
    private static readonly Regex OutsideAttack = P(
        @"\b(?:follow|obey|execute|comply|act\s+on|carry\s+out|do\s+(?:it|this|that|what|as))\b|\b(?:without|no)\s+(?:any\s+)?(?:limits|restrictions|filters|rules|guidelines)\b");

    private static readonly Regex Word = P(@"[\p{L}\p{N}]{2,}");

    /// <summary>
    /// True when the words at [<paramref name="start"/>, <paramref name="end"/>) of <paramref name="text"/>
    /// are content, not an attack. With <paramref name="ownSentenceOnly"/> the span is itself the
    /// sentence (a streamed sentence is judged when complete, before what follows it has arrived),
    /// and only its line before it is read besides; otherwise the sentence and line around the
    /// span, at most <see cref="Window"/> characters either side.
    /// </summary>
    public static bool IsContent(string text, int start, int end, bool ownSentenceOnly = false)
    {
        var (lineStart, lineEnd) = Line(text, start, end);
        if (ownSentenceOnly)
        {
            lineEnd = end;
        }
        var line = text[lineStart..lineEnd];
        if (AddressesModel.IsMatch(line))
        {
            return false;
        }
        var (sentenceStart, sentenceEnd) = ownSentenceOnly ? (start, end) : Sentence(text, start, end, lineStart, lineEnd);
        var sentence = text[sentenceStart..sentenceEnd];
        if (Retraction.IsMatch(sentence) && OwnWords.IsMatch(sentence) && !SecondPerson.IsMatch(sentence))
        {
            return true;
        }
        var quotes = QuotedRanges(line);
        var outside = Outside(line, quotes);
        if (OutsideAttack.IsMatch(outside))
        {
            return false;
        }
        if (Discussion.IsMatch(sentence) || quotes.Count > 0 && Translation.IsMatch(outside))
        {
            return true;
        }
        // A quoted phrase framed by the user's own words in the same sentence (asked about,
        // summarised, proofread); a bare quote, or one after an unrelated sentence, is not framed.
        var (s, e) = (start - lineStart, end - lineStart);
        return ownSentenceOnly
            ? quotes.Any(q => q.End > s && Word.Count(line[Math.Max(q.Start, s)..q.End]) >= 3 && FramingWords(line, q) >= 2)
            : quotes.Any(q => q.Start <= s && e <= q.End && FramingWords(line, q) >= 2);
    }

    // Words of the sentence the quote stands in, outside the quote: before it back to the last
    // sentence end, after it up to the next.
    private static int FramingWords(string line, (int Start, int End) quote)
    {
        var before = line[..Math.Max(0, quote.Start - 1)];
        var cut = Math.Max(before.LastIndexOf(". ", StringComparison.Ordinal), Math.Max(before.LastIndexOf("! ", StringComparison.Ordinal), before.LastIndexOf("? ", StringComparison.Ordinal)));
        var after = quote.End + 1 < line.Length ? line[(quote.End + 1)..] : "";
        var stop = after.IndexOfAny(['.', '!', '?']);
        return Word.Count(before[(cut + 1)..]) + Word.Count(stop < 0 ? after : after[..stop]);
    }

    private static (int Start, int End) Line(string text, int start, int end)
    {
        var from = Math.Max(0, start - Window);
        var lineStart = text.LastIndexOf('\n', Math.Max(from, start - 1), start - from) + 1;
        var to = Math.Min(text.Length, end + Window);
        var lineEnd = text.IndexOf('\n', end, to - end);
        return (Math.Max(lineStart, from), lineEnd < 0 ? to : lineEnd);
    }

    // The sentence: from the last ". ", "! " or "? " before the span to the next after it, within the line.
    private static (int Start, int End) Sentence(string text, int start, int end, int lineStart, int lineEnd)
    {
        var s = start;
        while (s > lineStart && !(text[s - 1] is ' ' && s - 2 >= lineStart && text[s - 2] is '.' or '!' or '?'))
        {
            s--;
        }
        var e = end;
        while (e < lineEnd && !(text[e] is '.' or '!' or '?' && (e + 1 == lineEnd || char.IsWhiteSpace(text[e + 1]))))
        {
            e++;
        }
        return (s, Math.Min(lineEnd, e + 1));
    }

    /// <summary>Quoted ranges of <paramref name="line"/> (inside the marks): "…", “…”, ‘…’, «…», and '…' where the marks stand at word edges (so "it's" is no quote); a quote still open at the end runs to the end.</summary>
    public static List<(int Start, int End)> QuotedRanges(string line)
    {
        var ranges = new List<(int, int)>();
        var open = -1;
        var closer = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            var before = i > 0 ? line[i - 1] : ' ';
            var after = i + 1 < line.Length ? line[i + 1] : ' ';
            if (open < 0)
            {
                (open, closer) = c switch
                {
                    '"' => (i + 1, '"'),
                    '“' => (i + 1, '”'),
                    '‘' => (i + 1, '’'),
                    '«' => (i + 1, '»'),
                    '\'' when !char.IsLetterOrDigit(before) && char.IsLetterOrDigit(after) => (i + 1, '\''),
                    _ => (-1, '\0'),
                };
            }
            else if (c == closer && (c != '\'' || !char.IsLetterOrDigit(after)))
            {
                ranges.Add((open, i));
                open = -1;
            }
        }
        if (open >= 0 && open < line.Length)
        {
            // Opened and not closed within what is read: the quote runs on (a quoted paragraph split into sentences).
            ranges.Add((open, line.Length));
        }
        return ranges;
    }

    private static string Outside(string line, List<(int Start, int End)> quotes)
    {
        if (quotes.Count == 0)
        {
            return line;
        }
        var parts = new List<string>();
        var at = 0;
        foreach (var (s, e) in quotes)
        {
            parts.Add(line[at..Math.Max(at, s - 1)]);
            at = Math.Min(line.Length, e + 1);
        }
        parts.Add(line[at..]);
        return string.Join(' ', parts);
    }
}
