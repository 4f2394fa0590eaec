using Mesh.Gateway.Tests.Infrastructure;
using Mesh.Inference;

namespace Mesh.Gateway.Tests.OpenAI;

/// <summary>
/// A real Inference host (stories260K with the Llama 2 chat template, since the file has none) behind a
/// real gateway, for the OpenAI API tests. The gateway's HTTP endpoint serves the OpenAI API.
/// </summary>
public sealed class OpenAIFixture : IAsyncLifetime
{
    public const string Model = "stories260K";

    /// <summary>May use everything.</summary>
    public TestKey Admin { get; } = new("openai-admin", "acme", ["*"], ["*"]);

    /// <summary>May use only a model the host does not serve.</summary>
    public TestKey Narrow { get; } = new("openai-narrow", "globex", ["other-model"], []);

    /// <summary>Ten generated tokens per minute.</summary>
    public TestKey FewTokens { get; } = new("openai-few-tokens", "hooli", ["*"], ["*"], TokensPerMinute: 10);

    public ServiceReplica Inference { get; private set; } = null!;
    public GatewayUnderTest Gateway { get; private set; } = null!;

    /// <summary>The OpenAI API's base address, as OpenAI clients take it (<c>http://host:port/v1</c>).</summary>
    public Uri OpenAIEndpoint => new(Gateway.HttpAddress, "/v1");

    public async Task InitializeAsync()
    {
        Inference = await ServiceReplica.StartAsync(InferenceHost.CreateApp, 0,
            [.. MeshFixture.InferenceArgs, "--Inference:Models:0:ChatTemplate=llama2"]);
        Gateway = await GatewayUnderTest.StartAsync(
            new Dictionary<string, IReadOnlyList<Uri>> { ["inference"] = [Inference.Address] },
            [Admin, Narrow, FewTokens]);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Inference.DisposeAsync();
    }
}
