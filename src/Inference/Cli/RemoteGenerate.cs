using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Inference.V1;

namespace Mesh.Inference.Cli;

/// <summary><c>generate --server URL</c>: the one-line gRPC client of a running Inference service.</summary>
internal static class RemoteGenerate
{
    public static async Task<int> RunAsync(Uri server, GenerateRequest request, CancellationToken cancellation)
    {
        using var channel = GrpcChannel.ForAddress(server);
        var client = new InferenceService.InferenceServiceClient(channel);
        try
        {
            if (request.Prompt.Length == 0)
            {
                // The service needs a prompt; an empty one means "from BOS", which is the BOS token alone.
                var tokens = await client.TokenizeAsync(new TokenizeRequest { Model = request.Model, Text = "" }, cancellationToken: cancellation);
                request.PromptTokenIds.AddRange(tokens.TokenIds);
            }

            using var call = client.Generate(request, cancellationToken: cancellation);
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
