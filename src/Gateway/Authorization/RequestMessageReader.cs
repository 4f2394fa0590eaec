using System.Buffers;
using System.IO.Compression;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Mesh.Gateway.GrpcWire;
using Microsoft.AspNetCore.Http.Features;

namespace Mesh.Gateway.Authorization;

/// <summary>
/// Reads request messages so the gateway can look at them, then puts the exact bytes back for YARP
/// to forward. Bounded: a message larger than the configured size is refused without being read.
/// </summary>
public static class RequestMessageReader
{
    /// <summary>The decoded message, or the status and message that refuse the call.</summary>
    public readonly record struct Result(IMessage? Message, StatusCode Status, string? Error);

    /// <summary>Reads the request's first gRPC message (at most <paramref name="maxMessageBytes"/>, inflated if compressed) and parses it as <paramref name="inputType"/>.</summary>
    public static async Task<Result> ReadAsync(HttpContext context, MessageDescriptor inputType, int maxMessageBytes)
    {
        var limit = (long)maxMessageBytes + GrpcFrame.HeaderSize;
        var body = new MemoryStream();
        // Pooled: a fresh 16 KiB array per call was most of the gateway's own allocation on small calls.
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
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
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
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

        return Decode(context, single, inputType, maxMessageBytes);
    }

    /// <summary>
    /// Reads the first message of a client- or bidirectional-streaming call (waiting for the caller to
    /// send it) and leaves the body positioned so that YARP forwards that message and then the rest
    /// of the stream. <see cref="Result.Message"/> is null with status OK when the caller sent none.
    /// </summary>
    public static async Task<(Result First, byte[] Consumed)> ReadFirstAsync(HttpContext context, MessageDescriptor inputType, int maxMessageBytes)
    {
        var header = new byte[GrpcFrame.HeaderSize];
        var headerRead = await ReadFullyAsync(context.Request.Body, header, context.RequestAborted);
        if (headerRead < header.Length)
        {
            var ok = headerRead == 0;
            return (new(null, ok ? StatusCode.OK : StatusCode.InvalidArgument, ok ? null : "The request ends inside a message header."), header[..headerRead]);
        }

        if (!GrpcFrame.TryReadHeader(header, out var compressed, out var length))
        {
            return (new(null, StatusCode.InvalidArgument, "The request is not gRPC length-prefixed messages."), header);
        }

        if (length > maxMessageBytes)
        {
            return (new(null, StatusCode.ResourceExhausted,
                $"The request message is larger than the gateway's limit of {maxMessageBytes} bytes (Gateway:MaxRequestMessageBytes)."), header);
        }

        var frame = new byte[GrpcFrame.HeaderSize + length];
        header.CopyTo(frame, 0);
        if (await ReadFullyAsync(context.Request.Body, frame.AsMemory(GrpcFrame.HeaderSize), context.RequestAborted) < length)
        {
            return (new(null, StatusCode.InvalidArgument, "The request ends inside its first message."), frame);
        }

        return (Decode(context, new GrpcMessage(frame.AsMemory(GrpcFrame.HeaderSize), compressed, length, Skipped: false), inputType, maxMessageBytes), frame);
    }

    /// <summary>
    /// Parses one message of the request's type, inflating gzip first. Inflation stops as soon as the
    /// output passes <paramref name="maxMessageBytes"/> (RESOURCE_EXHAUSTED): a small frame that would
    /// inflate to gigabytes costs at most the limit in memory.
    /// </summary>
    public static Result Decode(HttpContext context, GrpcMessage message, MessageDescriptor inputType, int maxMessageBytes)
    {
        if (message.Skipped)
        {
            return new(null, StatusCode.ResourceExhausted, $"A request message of {message.Length} bytes is larger than the gateway's limit (Gateway:MaxRequestMessageBytes).");
        }

        try
        {
            if (!message.Compressed)
            {
                return new(inputType.Parser.ParseFrom(message.Payload.Span), StatusCode.OK, null);
            }

            if (!string.Equals(context.Request.Headers["grpc-encoding"], "gzip", StringComparison.Ordinal))
            {
                return new(null, StatusCode.Unimplemented, $"The gateway inspects requests compressed with gzip or identity only; grpc-encoding was '{context.Request.Headers["grpc-encoding"]}'.");
            }

            var inflated = Inflate(message.Payload, maxMessageBytes);
            return inflated is null
                ? new(null, StatusCode.ResourceExhausted,
                    $"The request message inflates to more than the gateway's limit of {maxMessageBytes} bytes (Gateway:MaxRequestMessageBytes).")
                : new(inputType.Parser.ParseFrom(inflated.GetBuffer().AsSpan(0, (int)inflated.Length)), StatusCode.OK, null);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidDataException)
        {
            return new(null, StatusCode.InvalidArgument, $"The request is not a valid {inputType.FullName}: {ex.Message}");
        }
    }

    /// <summary>The inflated gzip payload, or null as soon as it passes <paramref name="maxBytes"/>.</summary>
    private static MemoryStream? Inflate(ReadOnlyMemory<byte> payload, int maxBytes)
    {
        var input = MemoryMarshal.TryGetArray(payload, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(payload.ToArray(), writable: false);
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        var output = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int read;
            while ((read = gzip.Read(chunk, 0, chunk.Length)) > 0)
            {
                if (output.Length + read > maxBytes)
                {
                    return null;
                }

                output.Write(chunk, 0, read);
            }

            return output;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    private static async Task<int> ReadFullyAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        int read;
        while (filled < buffer.Length && (read = await stream.ReadAsync(buffer[filled..], cancellationToken)) > 0)
        {
            filled += read;
        }

        return filled;
    }
}
