using System.Collections;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Mesh.Gateway.Metering;

/// <summary>
/// Counts the tokens a response reports as generated, from its descriptor: the ids in a repeated
/// <c>token_ids</c> field as they stream, topped up by <c>usage.completion_tokens</c> when the final
/// message reports more. One rule serves the streaming Generate (ids arrive message by message, usage
/// at the end) and the unary Complete (everything in one message), and a stream cut short is still
/// charged for what it delivered.
/// </summary>
public sealed class GeneratedTokenCounter
{
    private readonly MessageDescriptor _response;
    private readonly FieldDescriptor? _tokenIds;
    private readonly FieldDescriptor? _usage;
    private readonly FieldDescriptor? _completionTokens;

    private GeneratedTokenCounter(MessageDescriptor response, FieldDescriptor? tokenIds, FieldDescriptor? usage, FieldDescriptor? completionTokens)
    {
        _response = response;
        _tokenIds = tokenIds;
        _usage = usage;
        _completionTokens = completionTokens;
    }

    /// <summary>A counter for responses of this type, or null when the type reports no generated tokens.</summary>
    public static GeneratedTokenCounter? For(MessageDescriptor response)
    {
        var tokenIds = response.FindFieldByName("token_ids") is { IsRepeated: true } ids ? ids : null;
        var usage = response.FindFieldByName("usage") is { FieldType: FieldType.Message } u ? u : null;
        var completion = usage?.MessageType.FindFieldByName("completion_tokens");
        return tokenIds is null && completion is null ? null : new(response, tokenIds, completion is null ? null : usage, completion);
    }

    /// <summary>Parses one response message and returns the tokens it adds to the <paramref name="countedSoFar"/> of its call.</summary>
    public long Count(ReadOnlySpan<byte> message, long countedSoFar)
    {
        var parsed = _response.Parser.ParseFrom(message);
        long added = _tokenIds?.Accessor.GetValue(parsed) is ICollection ids ? ids.Count : 0;
        if (_usage?.Accessor.GetValue(parsed) is IMessage usage
            && _completionTokens!.Accessor.GetValue(usage) is int reported
            && reported > countedSoFar + added)
        {
            added = reported - countedSoFar;
        }

        return added;
    }
}
