namespace Mesh.Gateway.OpenAI;

/// <summary>OpenAI's error body: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public sealed record OpenAIErrorBody(OpenAIErrorWire Error);

public sealed record OpenAIErrorWire(string Message, string Type, string? Param, string? Code);
