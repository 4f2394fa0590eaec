using Mesh.Gateway.Tests.Infrastructure;
using Mesh.Inference.V1;
using Mesh.Tests.Shared;

namespace Mesh.Gateway.Tests;

/// <summary>
/// Mesh's CLI client (<c>Mesh.Inference generate --server</c>, run as its own process as a user runs it)
/// talks to the gateway with <c>--api-key</c> or <c>MESH_API_KEY</c>, and without a key is told why it
/// was refused.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class InferenceCliTests(MeshFixture mesh)
{
    private const string Prompt = "Once upon a time";

    [Fact]
    public async Task Generate_through_the_gateway_with_api_key_or_MESH_API_KEY_prints_the_gRPC_answer()
    {
        var client = new InferenceService.InferenceServiceClient(mesh.Channel);
        var expected = await client.CompleteAsync(new GenerateRequest
        {
            Model = "stories260K", Prompt = Prompt, MaxTokens = 12, Sampling = new SamplingParams { Temperature = 0 },
        }, mesh.Admin.Metadata);

        var withOption = await RunAsync(null, "--api-key", mesh.Admin.Secret);
        Assert.Equal(0, withOption.ExitCode);
        Assert.Equal(expected.Text + "\n", withOption.Stdout);

        var withVariable = await RunAsync(mesh.Admin.Secret);
        Assert.Equal(0, withVariable.ExitCode);
        Assert.Equal(expected.Text + "\n", withVariable.Stdout);
    }

    [Fact]
    public async Task Without_a_key_the_gateway_refusal_is_one_line_and_exit_code_1()
    {
        var refused = await RunAsync(null);

        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("error: Unauthenticated: ", refused.Stderr.Trim(), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", refused.Stderr, StringComparison.Ordinal);
    }

    private Task<ProcessResult> RunAsync(string? environmentKey, params string[] extra) => DotnetProcess.RunAsync(
        "Mesh.Inference.dll",
        ["generate", "--server", mesh.Gateway.Address.ToString(), "--model", "stories260K", "--prompt", Prompt, "--max-tokens", "12", "--temperature", "0", .. extra],
        TimeSpan.FromMinutes(2),
        new Dictionary<string, string?> { ["MESH_API_KEY"] = environmentKey });
}
