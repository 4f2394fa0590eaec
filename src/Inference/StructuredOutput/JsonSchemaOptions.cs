namespace Mesh.Inference.StructuredOutput;

/// <summary>Options of JSON grammars.</summary>
internal sealed record JsonSchemaOptions
{
    /// <summary>Most whitespace characters (space, tab, newline) allowed between two JSON tokens. Default 1.</summary>
    public int MaxWhitespace { get; init; } = 1;

    /// <summary>How many nested $ref expansions a value may go through (recursive schemas end there). Default 6.</summary>
    public int MaxRefDepth { get; init; } = 6;
}
