using System.Buffers.Binary;

namespace Mesh.Gateway.GrpcWire;

/// <summary>
/// The gRPC length-prefixed message framing (PROTOCOL-HTTP2.md): one byte "compressed" flag, a
/// four-byte big-endian length, then the message. The gateway reads frames to inspect requests and
/// meter responses; it never re-encodes what it forwards.
/// </summary>
public static class GrpcFrame
{
    /// <summary>Size of the prefix in front of every message.</summary>
    public const int HeaderSize = 5;

    /// <summary>Reads a frame header; the length is unsigned on the wire and larger than int.MaxValue is refused.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, out bool compressed, out int length)
    {
        compressed = header[0] == 1;
        var raw = BinaryPrimitives.ReadUInt32BigEndian(header[1..HeaderSize]);
        length = raw > int.MaxValue ? -1 : (int)raw;
        return header[0] <= 1 && length >= 0;
    }

    /// <summary>Frames a message (uncompressed).</summary>
    public static byte[] Encode(ReadOnlySpan<byte> message)
    {
        var frame = new byte[HeaderSize + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1, 4), (uint)message.Length);
        message.CopyTo(frame.AsSpan(HeaderSize));
        return frame;
    }
}
