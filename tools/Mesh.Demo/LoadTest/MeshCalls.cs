using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Guard.V1;
using Mesh.Inference.V1;
using Mesh.Retrieval.V1;

namespace Mesh.Demo.LoadTest;

/// <summary>
/// The calls a load run sends through the gateway: <c>generate</c> (a streamed Generate, read to
/// its last message), <c>search</c> (a text query on a collection) and <c>check</c> (a Guard output
/// check). A mix takes them in turn. Every call carries the API key and a deadline.
/// </summary>
public sealed class MeshCalls(GrpcChannel channel, string apiKey, MeshCallSettings settings)
{
    /// <summary>The call kinds this knows.</summary>
    public static readonly IReadOnlyList<string> Known = ["generate", "search", "check"];

    private readonly InferenceService.InferenceServiceClient _inference = new(channel);
    private readonly RetrievalService.RetrievalServiceClient _retrieval = new(channel);
    private readonly GuardService.GuardServiceClient _guard = new(channel);
    private readonly Metadata _key = new() { { "authorization", $"Bearer {apiKey}" } };

    /// <summary>The <paramref name="n"/>-th call of the mix <paramref name="kinds"/>; returns its status.</summary>
    public async Task<(StatusCode Status, string Kind)> CallAsync(IReadOnlyList<string> kinds, int n, CancellationToken cancel)
    {
        var kind = kinds[n % kinds.Count];
        var options = new CallOptions(_key, DateTime.UtcNow + settings.Timeout, cancel);
        try
        {
            switch (kind)
            {
                case "generate":
                    using (var call = _inference.Generate(new GenerateRequest { Model = settings.Model, Prompt = settings.Prompt, MaxTokens = settings.MaxTokens }, options))
                    {
                        await foreach (var _ in call.ResponseStream.ReadAllAsync(cancel))
                        {
                        }
                    }

                    break;
                case "search":
                    await _retrieval.SearchAsync(new SearchRequest { Collection = settings.Collection, Text = settings.Query, Limit = 3 }, options);
                    break;
                case "check":
                    await _guard.CheckAsync(new CheckRequest { Stage = Stage.Output, Text = settings.CheckText }, options);
                    break;
                default:
                    throw new ArgumentException($"unknown call '{kind}': use {string.Join(", ", Known)}");
            }

            return (StatusCode.OK, kind);
        }
        catch (RpcException e)
        {
            return (e.StatusCode, kind);
        }
    }
}

/// <summary>What each call kind sends, and the deadline of every call.</summary>
public sealed record MeshCallSettings(
    string Model = "stories260K",
    string Prompt = "Once upon a time",
    int MaxTokens = 16,
    string Collection = "demo",
    string Query = "trail running shoes",
    string CheckText = "Thanks! Your order ships to jane.doe@example.com tomorrow.")
{
    /// <summary>Each call's deadline; past it the call counts as DEADLINE_EXCEEDED.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(20);
}
