namespace Mesh.Gateway.OpenAI;

/// <summary>OpenAI's error body: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public sealed record OpenAIErrorBody(OpenAIErrorWire Error);

/// <summary>One error: the message, OpenAI's <c>type</c>, the request field it is about (<c>param</c>) and a <c>code</c>.</summary>
public sealed record OpenAIErrorWire(string Message, string Type, string? Param, string? Code);
