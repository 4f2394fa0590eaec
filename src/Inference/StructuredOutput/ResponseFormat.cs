namespace Mesh.Inference.StructuredOutput;

/// <summary>The kinds of constrained output (OpenAI's response_format types, plus vLLM's regex/choice and llama.cpp's GBNF).</summary>
public enum ResponseFormatKind
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
public sealed record ResponseFormat(ResponseFormatKind Kind, string Text, IReadOnlyList<string> Choices, JsonSchemaOptions Json)
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

/// <summary>
/// Compiles formats once per (format, vocabulary) and keeps the most recently used
/// <see cref="Capacity"/> of them (a bounded LRU), so repeated schemas cost nothing after the first
/// request and their automaton and mask caches stay warm. Memory per format is bounded by
/// <see cref="GrammarMatcher.MaxStates"/> memoized states (2 KiB of transitions each) and all formats'
/// masks by <see cref="CompiledFormat.MaxMaskCacheBytes"/>. Thread-safe.
/// </summary>
public sealed class ResponseFormatCache(int capacity = 32)
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Key, TokenVocabulary Vocabulary), LinkedListNode<((string, TokenVocabulary) Key, CompiledFormat Format)>> _entries = [];
    private readonly LinkedList<((string, TokenVocabulary) Key, CompiledFormat Format)> _order = new();

    public int Capacity { get; } = Math.Max(1, capacity);

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The compiled format, from the cache or compiled now.</summary>
    /// <exception cref="GrammarException">The format cannot be compiled.</exception>
    public CompiledFormat Get(ResponseFormat format, TokenVocabulary vocabulary)
    {
        var key = (format.Key, vocabulary);
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                return node.Value.Format;
            }
        }

        // Compiled outside the lock: two racing requests may both compile; the second result is dropped.
        var compiled = new CompiledFormat(format.Compile(), vocabulary);
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var raced))
            {
                return raced.Value.Format;
            }

            _entries[key] = _order.AddFirst((key, compiled));
            while (_entries.Count > Capacity)
            {
                _entries.Remove(_order.Last!.Value.Key);
                _order.Last.Value.Format.Release();
                _order.RemoveLast();
            }

            return compiled;
        }
    }
}
