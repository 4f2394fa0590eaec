using Mesh.Guard.Schema;

namespace Mesh.Guard.Detectors;

/// <summary>
/// JSON Schema validation of an answer: one finding per failing keyword, with the JSON Pointer of
/// the failing value. Uses the policy rule's schema, or the request's when the rule carries none.
/// A streamed answer is judged only once complete (half a JSON document is never valid).
/// </summary>
public sealed class JsonSchemaDetector(CompiledSchema? schema) : IDetector
{
    /// <inheritdoc/>
    public string Category => "json_schema";

    /// <summary>True when the rule carries no schema of its own and applies the request's.</summary>
    public bool UsesRequestSchema => schema is null;

    /// <inheritdoc/>
    public IEnumerable<Finding> Detect(DetectionContext context)
    {
        var effective = schema ?? context.RequestSchema;
        if (effective is null || context.IsPartial)
        {
            return [];
        }
        return JsonSchemaValidator.Validate(effective, context.Text).Select(e =>
            new Finding(e.Keyword, 0, context.Text.Length, 1f,
                $"{(e.InstanceLocation.Length == 0 ? "document" : e.InstanceLocation)}: {e.Message}", e.InstanceLocation));
    }
}
