namespace Mesh.Inference.StructuredOutput;

/// <summary>What one element of a grammar sequence is.</summary>
internal enum ElementKind : byte
{
    /// <summary>One byte out of a set (<see cref="GrammarElement.Value"/> indexes <see cref="Grammar.Sets"/>).</summary>
    Bytes,

    /// <summary>A reference to a rule (<see cref="GrammarElement.Value"/> is the rule index).</summary>
    Rule,

    /// <summary>The end of an alternative.</summary>
    End,
}

/// <summary>One element of the flattened grammar code.</summary>
internal readonly record struct GrammarElement(ElementKind Kind, int Value);

/// <summary>
/// A compiled context-free grammar over UTF-8 bytes, flattened as llama.cpp's GBNF engine does: the code
/// is every alternative of every rule, each a run of elements ended by <see cref="ElementKind.End"/>;
/// <see cref="Alternatives"/>[r] lists where rule r's alternatives start. Rule 0 is the root. The grammar
/// has no left recursion (<see cref="GrammarBuilder.Build"/> refuses it), so expanding a rule always
/// reaches a terminal or the end of the input in finitely many steps.
/// </summary>
internal sealed class Grammar
{
    internal Grammar(GrammarElement[] code, int[][] alternatives, ByteSet[] sets, string[] ruleNames)
    {
        Code = code;
        Alternatives = alternatives;
        Sets = sets;
        RuleNames = ruleNames;
    }

    public GrammarElement[] Code { get; }

    public int[][] Alternatives { get; }

    public ByteSet[] Sets { get; }

    public string[] RuleNames { get; }

    public int RuleCount => Alternatives.Length;
}
