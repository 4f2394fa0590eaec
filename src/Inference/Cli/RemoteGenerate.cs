using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Inference.V1;

namespace Mesh.Inference.Cli;

/// <summary>
/// <c>generate --server URL [--api-key KEY]</c>: the one-line gRPC client of a running Inference
/// service, or of the Mesh gateway in front of it (the key goes as <c>authorization: Bearer</c>, as
/// every gateway client sends it).
/// </summary>
internal static class RemoteGenerate
{
    /// <summary>The environment variable holding the API key when <c>--api-key</c> is not given (as tools/Mesh.Demo reads it).</summary>
    public const string ApiKeyVariable = "MESH_API_KEY";

    public static async Task<int> RunAsync(Uri server, GenerateRequest request, string? apiKey, CancellationToken cancellation)
    {
        using var channel = GrpcChannel.ForAddress(server);
        var client = new InferenceService.InferenceServiceClient(channel);
        var headers = apiKey is null ? null : new Metadata { { "authorization", $"Bearer {apiKey}" } };
        try
        {
            if (request.Prompt.Length == 0)
            {
                // The service needs a prompt; an empty one means "from BOS", which is the BOS token alone.
                var tokens = await client.TokenizeAsync(new TokenizeRequest { Model = request.Model, Text = "" }, headers, cancellationToken: cancellation);
                request.PromptTokenIds.AddRange(tokens.TokenIds);
            }

            using var call = client.Generate(request, headers, cancellationToken: cancellation);
            await foreach (var message in call.ResponseStream.ReadAllAsync(cancellation))
            {
                Console.Write(message.Text);
                if (message.Usage is { } usage)
                {
                    Console.WriteLine();
                    await Console.Error.WriteLineAsync($"{usage.PromptTokens} prompt tokens, {usage.CompletionTokens} generated in {usage.TotalTimeMs:F0} ms, finish: {message.FinishReason}");
                }
            }

            return 0;
        }
        catch (RpcException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.StatusCode}: {e.Status.Detail}");
            return 1;
        }
    }
}
