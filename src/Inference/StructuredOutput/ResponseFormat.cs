namespace Mesh.Inference.StructuredOutput;

/// <summary>The kinds of constrained output (OpenAI's response_format types, plus vLLM's regex/choice and llama.cpp's GBNF).</summary>
internal enum ResponseFormatKind
{
    JsonSchema,
    JsonObject,
    Regex,
    Choice,
    Grammar,
}

/// <summary>
/// A requested output format, validated as far as its shape goes: <see cref="Text"/> is the schema,
/// pattern or grammar; <see cref="Choices"/> the strings of a choice; <see cref="Json"/> the options of
/// the two JSON kinds. Equal formats compile to the same automaton (the cache key is <see cref="Key"/>).
/// </summary>
internal sealed record ResponseFormat(ResponseFormatKind Kind, string Text, IReadOnlyList<string> Choices, JsonSchemaOptions Json)
{
    /// <summary>A key that identifies the compiled automaton.</summary>
    public string Key => $"{Kind}\u0001{Json.MaxWhitespace}\u0001{Json.MaxRefDepth}\u0001{Text}\u0001{string.Join('\u0000', Choices)}";

    /// <summary>The byte grammar of the format.</summary>
    /// <exception cref="GrammarException">The format cannot be compiled; the message says why.</exception>
    public Grammar Compile() => Kind switch
    {
        ResponseFormatKind.JsonSchema => JsonSchemaCompiler.Compile(Text, Json),
        ResponseFormatKind.JsonObject => JsonSchemaCompiler.AnyObject(Json),
        ResponseFormatKind.Regex => Regex(Text),
        ResponseFormatKind.Choice => Choice(Choices),
        _ => GbnfParser.Parse(Text),
    };

    private static Grammar Regex(string pattern)
    {
        var builder = new GrammarBuilder();
        var root = builder.Declare("root");
        builder.Define(root, RegexCompiler.Compile(new CharacterRules(builder), pattern, inJsonString: false, searchSemantics: false, "regex"));
        return builder.Build(root);
    }

    private static Grammar Choice(IReadOnlyList<string> choices)
    {
        var builder = new GrammarBuilder();
        var root = builder.Declare("root");
        builder.Define(root, [.. choices.Distinct(StringComparer.Ordinal).Select(GrammarBuilder.Literal)]);
        return builder.Build(root);
    }
}
