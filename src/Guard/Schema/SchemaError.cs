namespace Mesh.Guard.Schema;

/// <summary>One failing keyword: where in the document (JSON Pointer), which keyword in the schema, and why.</summary>
public sealed record SchemaError(string InstanceLocation, string KeywordLocation, string Keyword, string Message);
