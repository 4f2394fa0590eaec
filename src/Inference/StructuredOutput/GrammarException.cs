namespace Mesh.Inference.StructuredOutput;

/// <summary>A format that cannot be compiled; the message says what to change.</summary>
internal sealed class GrammarException(string message) : Exception(message);
