using System.IO.Compression;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Mesh.Gateway.GrpcWire;
using Microsoft.AspNetCore.Http.Features;

namespace Mesh.Gateway.Authorization;

/// <summary>
/// Reads the single request message of a unary or server-streaming call so the gateway can look at
/// it, then puts the exact bytes back for YARP to forward. Bounded: a body larger than one message of
/// the configured size is refused without being read to the end.
/// </summary>
public static class RequestMessageReader
{
    /// <summary>The decoded message, or the status and message that refuse the call.</summary>
    public readonly record struct Result(IMessage? Message, StatusCode Status, string? Error);

    public static async Task<Result> ReadAsync(HttpContext context, MessageDescriptor inputType, int maxMessageBytes)
    {
        var limit = (long)maxMessageBytes + GrpcFrame.HeaderSize;
        var body = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (body.Length + read > limit)
            {
                return new(null, StatusCode.ResourceExhausted,
                    $"The request message is larger than the gateway's limit of {maxMessageBytes} bytes (Gateway:MaxRequestMessageBytes).");
            }

            body.Write(chunk, 0, read);
        }

        // Forward exactly what arrived.
        body.Position = 0;
        context.Request.Body = body;
        context.Features.Set<IHttpMaxRequestBodySizeFeature>(new BufferedRequestBodySizeFeature());

        GrpcMessage? message = null;
        var parser = new GrpcFrameParser(maxMessageBytes, m => message ??= m);
        parser.Push(body.GetBuffer().AsSpan(0, (int)body.Length));
        if (parser.Corrupt || parser.MessageCount != 1 || !parser.AtMessageBoundary || message is not { } single)
        {
            return new(null, StatusCode.InvalidArgument,
                $"A {inputType.Name} call carries exactly one length-prefixed request message; this one carried {parser.MessageCount}{(parser.AtMessageBoundary ? "" : " and a truncated frame")}.");
        }

        try
        {
            var payload = single.Compressed ? Decompress(context, single.Payload) : single.Payload.ToArray();
            return payload is null
                ? new(null, StatusCode.Unimplemented, $"The gateway inspects requests compressed with gzip or identity only; grpc-encoding was '{context.Request.Headers["grpc-encoding"]}'.")
                : new(inputType.Parser.ParseFrom(payload), StatusCode.OK, null);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidDataException)
        {
            return new(null, StatusCode.InvalidArgument, $"The request is not a valid {inputType.FullName}: {ex.Message}");
        }
    }

    private static byte[]? Decompress(HttpContext context, ReadOnlyMemory<byte> payload)
    {
        if (!string.Equals(context.Request.Headers["grpc-encoding"], "gzip", StringComparison.Ordinal))
        {
            return null;
        }

        using var gzip = new GZipStream(new MemoryStream(payload.ToArray()), CompressionMode.Decompress);
        using var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }
}
