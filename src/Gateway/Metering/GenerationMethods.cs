using System.Collections.Frozen;
using Mesh.Inference.V1;

namespace Mesh.Gateway.Metering;

/// <summary>
/// The RPCs that generate tokens, named by method identity (<c>/package.Service/Method</c>), with
/// where their responses report what they generated. Only these are metered against a key's
/// tokens-per-minute budget: a response that merely carries token ids (Tokenize, Score, Detokenize)
/// generated nothing, whatever its fields are called. A new generating RPC is added here.
/// </summary>
public static class GenerationMethods
{
    /// <summary>
    /// Where a generating RPC's response messages report tokens: the top-level field holding the ids
    /// generated since the previous message (packed or not), and the <see cref="Usage"/> message field
    /// whose <c>completion_tokens</c> is the call's total so far.
    /// </summary>
    public sealed record Layout(int TokenIdsField, int UsageField);

    private static readonly FrozenDictionary<string, Layout> Methods = new Dictionary<string, Layout>(StringComparer.Ordinal)
    {
        // Streamed: ids message by message, usage on the last message.
        [Path(nameof(InferenceService.InferenceServiceClient.Generate))] =
            new(GenerateResponse.TokenIdsFieldNumber, GenerateResponse.UsageFieldNumber),
        // Chat streams GenerateResponse exactly as Generate does: left out, a conversation would escape tokens/min.
        [Path(nameof(InferenceService.InferenceServiceClient.Chat))] =
            new(GenerateResponse.TokenIdsFieldNumber, GenerateResponse.UsageFieldNumber),
        // Unary: every id and the usage in one message.
        [Path(nameof(InferenceService.InferenceServiceClient.Complete))] =
            new(CompleteResponse.TokenIdsFieldNumber, CompleteResponse.UsageFieldNumber),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The response layout of a generating RPC, or null for every other path.</summary>
    public static Layout? Find(PathString path) =>
        path.Value is { } value && Methods.TryGetValue(value, out var layout) ? layout : null;

    private static string Path(string method) =>
        $"/{InferenceService.Descriptor.FullName}/{InferenceService.Descriptor.FindMethodByName(method).Name}";
}
