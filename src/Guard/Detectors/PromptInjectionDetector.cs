using System.Text.RegularExpressions;
using Mesh.Guard.Detectors.Pii;
using Mesh.Guard.Embeddings;

namespace Mesh.Guard.Detectors;

/// <summary>
/// Prompt injection and jailbreak: known phrasings matched by rule (score 1), and a scored
/// detector for the paraphrases rules miss: each sentence's MiniLM similarity to a corpus of known
/// attacks (<see cref="KnownAttacks"/>); a sentence at or above the threshold is a finding scored
/// by its similarity. Either kind of finding is dropped where <see cref="InjectionFraming"/> reads
/// the sentence as content (the user's own retraction, a quoted or translated phrase, a discussion
/// of attacks), except chat-template delimiters.
/// </summary>
public sealed class PromptInjectionDetector : IDetector
{
    private readonly IReadOnlyList<float[]> _attackVectors;
    private readonly float _threshold;
    private readonly bool _usePatterns;

    /// <param name="attackVectors">Embeddings of the known attacks; empty turns the scored detector off.</param>
    /// <param name="threshold">Cosine similarity at or above which a sentence is a finding.</param>
    /// <param name="usePatterns">Whether the phrase patterns of common injections also report findings.</param>
    public PromptInjectionDetector(IReadOnlyList<float[]> attackVectors, float threshold, bool usePatterns = true)
    {
        _attackVectors = attackVectors;
        _threshold = threshold;
        _usePatterns = usePatterns;
    }

    /// <inheritdoc/>
    public string Category => "prompt_injection";

    /// <inheritdoc />
    /// <remarks>The rule patterns' repetitions are bounded: the longest match is under 160 characters;
    /// whether a match is content is decided by the line up to <see cref="InjectionFraming.Window"/> characters either side.</remarks>
    public StreamReach Reach => new(192 + InjectionFraming.Window, InjectionFraming.Window);

    /// <inheritdoc/>
    public IEnumerable<Finding> Detect(DetectionContext context)
    {
        var found = new List<Finding>();
        if (_usePatterns)
        {
            foreach (var (name, pattern) in Patterns)
            {
                var from = context.ScanFrom == 0 ? 0 : Math.Max(0, context.ScanFrom - Reach.Behind);
                for (var m = pattern.Match(context.Text, from); m.Success; m = m.NextMatch())
                {
                    // A chat-template delimiter is never content; any other phrase may be quoted, translated or discussed.
                    if (name != "prompt_delimiter" && InjectionFraming.IsContent(context.Text, m.Index, m.Index + m.Length))
                    {
                        continue;
                    }
                    found.Add(new Finding(name, m.Index, m.Index + m.Length, 1f, $"Known prompt-injection pattern '{name}'"));
                }
            }
        }
        if (_attackVectors.Count > 0)
        {
            foreach (var segment in context.Segments)
            {
                var (score, _) = VectorMath.Best(segment.Vector, _attackVectors);
                // A sentence a rule already caught needs no second report.
                if (score >= _threshold && !found.Any(f => f.Start < segment.End && segment.Start < f.End)
                    && !InjectionFraming.IsContent(context.Text, segment.Start, segment.End, ownSentenceOnly: true))
                {
                    found.Add(new Finding("similar_to_known_attack", segment.Start, segment.End, Math.Clamp(score, 0f, 1f),
                        $"Sentence resembles a known prompt-injection attack (similarity {score:F2} >= {_threshold:F2})"));
                }
            }
        }
        return found;
    }

    private static Regex P(string pattern) => PatternRecognizer.Compile(pattern, RegexOptions.IgnoreCase);

    // Phrasings seen in public jailbreak collections and red-team reports. Each names one technique.
    private static readonly (string Name, Regex Pattern)[] Patterns =
    [
        ("ignore_previous_instructions", P(@"\b(?:ignore|disregard|forget|skip|bypass|override|neglect)\b[\w\s,'-]{0,30}?\b(?:previous|prior|above|earlier|preceding|former|original|initial|system|all|your|any)\b[\w\s,'-]{0,20}?\b(?:instructions?|prompts?|rules|directives|guidelines|commands|constraints|context|programming|messages?)\b")),
        ("reveal_system_prompt", P(@"\b(?:reveal|show|print|output|repeat|display|tell me|give me|leak|dump|spell out|what(?:'s| is| are))\b[\w\s,'-]{0,25}?\b(?:system|hidden|secret|initial|original|developer|internal)\s+(?:prompt|instructions?|message|rules|configuration)")),
        ("role_override", P(@"\b(?:you are now|from now on,? you(?:'re| are| will)|act as|pretend (?:to be|you are|you're)|roleplay as|role-play as|simulate)\b[\w\s,'-]{0,40}?\b(?:unrestricted|unfiltered|uncensored|without (?:any )?(?:restrictions|limits|filters|rules|guidelines|ethics|morals)|no (?:restrictions|limits|filters|rules|guidelines|ethics|morals)|evil|jailbroken|dan\b|do anything now)")),
        ("jailbreak_persona", P(@"\b(?:DAN mode|do anything now|developer mode (?:enabled|on|output)|jailbreak(?:en|ed)? mode|god mode|STAN\b|DUDE\b|AIM\b(?= (?:stands|is))|evil confidant|anti-?DAN)")),
        ("disable_safety", P(@"\b(?:disable|turn off|remove|bypass|ignore|deactivate|circumvent|lift)\b[\w\s,'-]{0,20}?\b(?:safety|content|ethical|moderation|security)\s+(?:filters?|guidelines|policies|policy|restrictions|measures|protocols?|checks|guardrails|settings)")),
        ("prompt_delimiter", P(@"<\|(?:im_start|im_end|system|endoftext|begin_of_text|start_header_id)\|>|\[/?INST\]|<<SYS>>|^\s{0,16}#{2,16}\s{0,16}(?:system|new instructions?)\b|\bEND OF (?:USER )?INPUT\b|\bnew (?:system )?instructions?\s{0,16}:")),
    ];
}
