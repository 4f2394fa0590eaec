namespace Mesh.Gateway.OpenAI;

/// <summary>The answer of <c>GET /v1/models</c>.</summary>
public sealed record ModelListWire(string Object, List<ModelWire> Data);

/// <summary>One model; <c>created</c> is 0 because a GGUF file carries no creation time Mesh trusts.</summary>
public sealed record ModelWire(string Id, string Object, long Created, string OwnedBy);
