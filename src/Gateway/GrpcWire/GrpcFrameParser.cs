namespace Mesh.Gateway.GrpcWire;

/// <summary>
/// Splits a gRPC message stream into messages as bytes arrive in arbitrary chunks (HTTP/2 DATA frames
/// do not line up with messages). Messages longer than <see cref="MaxMessageBytes"/> are skipped
/// rather than buffered, so a hostile length prefix cannot make the gateway allocate it.
/// </summary>
public sealed class GrpcFrameParser(int maxMessageBytes, Action<GrpcMessage> onMessage)
{
    private readonly byte[] _header = new byte[GrpcFrame.HeaderSize];
    private int _headerFilled;
    private byte[]? _payload;
    private int _payloadFilled;
    private int _skipRemaining;
    private bool _compressed;

    /// <summary>The largest message, in bytes, the parser accepts (compressed or inflated).</summary>
    public int MaxMessageBytes { get; } = maxMessageBytes;

    /// <summary>Messages seen so far, skipped ones included.</summary>
    public int MessageCount { get; private set; }

    /// <summary>Set when a frame header was malformed; the parser ignores the rest of the stream.</summary>
    public bool Corrupt { get; private set; }

    /// <summary>True between messages: nothing of a partial frame is pending.</summary>
    public bool AtMessageBoundary => _headerFilled == 0 && _payload is null && _skipRemaining == 0;

    /// <summary>Feeds the next bytes of the stream; complete frames are reported as they are found.</summary>
    public void Push(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty && !Corrupt)
        {
            if (_skipRemaining > 0)
            {
                var skip = Math.Min(_skipRemaining, data.Length);
                _skipRemaining -= skip;
                data = data[skip..];
                continue;
            }

            if (_payload is null)
            {
                var take = Math.Min(GrpcFrame.HeaderSize - _headerFilled, data.Length);
                data[..take].CopyTo(_header.AsSpan(_headerFilled));
                _headerFilled += take;
                data = data[take..];
                if (_headerFilled < GrpcFrame.HeaderSize)
                {
                    return;
                }

                _headerFilled = 0;
                if (!GrpcFrame.TryReadHeader(_header, out _compressed, out var length))
                {
                    Corrupt = true;
                    return;
                }

                MessageCount++;
                if (length > MaxMessageBytes)
                {
                    onMessage(new GrpcMessage(ReadOnlyMemory<byte>.Empty, _compressed, length, Skipped: true));
                    _skipRemaining = length;
                    continue;
                }

                _payload = new byte[length];
                _payloadFilled = 0;
            }

            var copy = Math.Min(_payload.Length - _payloadFilled, data.Length);
            data[..copy].CopyTo(_payload.AsSpan(_payloadFilled));
            _payloadFilled += copy;
            data = data[copy..];
            if (_payloadFilled == _payload.Length)
            {
                var message = _payload;
                _payload = null;
                onMessage(new GrpcMessage(message, _compressed, message.Length, Skipped: false));
            }
        }
    }
}

/// <summary>One message of a gRPC stream. <paramref name="Skipped"/>: longer than the parser keeps; no payload.</summary>
public readonly record struct GrpcMessage(ReadOnlyMemory<byte> Payload, bool Compressed, int Length, bool Skipped);
