using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Mesh.Gateway.Tests.Infrastructure;

/// <summary>
/// One request over a bare HTTP/2 cleartext connection (RFC 9113), reporting the frames the server
/// sent on that stream. HttpClient hides whether a response's HEADERS frame carried END_STREAM, and
/// that flag is what strict gRPC clients (grpc-core, grpc-js) need to read a trailers-only status;
/// this shows it. Request headers are HPACK literals without indexing (RFC 7541 §6.2.2), no Huffman;
/// response header blocks are not decoded.
/// </summary>
public static class RawHttp2
{
    public const byte Data = 0, Headers = 1, RstStream = 3, Settings = 4, GoAway = 7;
    public const byte EndStream = 0x1, EndHeaders = 0x4, Ack = 0x1;

    /// <summary>A frame received on the request's stream.</summary>
    public readonly record struct Frame(byte Type, byte Flags, byte[] Payload);

    public static async Task<IReadOnlyList<Frame>> ExchangeAsync(
        Uri address, string path, byte[] body, IEnumerable<(string Name, string Value)> headers, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port, cts.Token);
        var stream = tcp.GetStream();

        var block = new MemoryStream();
        foreach (var (name, value) in (IEnumerable<(string, string)>)
                 [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", address.Authority), .. headers])
        {
            block.WriteByte(0); // literal without indexing, new name
            WriteString(block, name);
            WriteString(block, value);
        }

        var output = new MemoryStream();
        output.Write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8);
        WriteFrame(output, Settings, 0, 0, []);
        WriteFrame(output, Headers, EndHeaders, 1, block.ToArray());
        WriteFrame(output, Data, EndStream, 1, body);
        await stream.WriteAsync(output.ToArray(), cts.Token);

        var frames = new List<Frame>();
        var header = new byte[9];
        while (true)
        {
            await stream.ReadExactlyAsync(header, cts.Token);
            var length = (header[0] << 16) | (header[1] << 8) | header[2];
            var (type, flags) = (header[3], header[4]);
            var id = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(5)) & int.MaxValue;
            var payload = new byte[length];
            await stream.ReadExactlyAsync(payload, cts.Token);
            if (type == Settings && (flags & Ack) == 0)
            {
                var ack = new MemoryStream();
                WriteFrame(ack, Settings, Ack, 0, []);
                await stream.WriteAsync(ack.ToArray(), cts.Token);
            }

            if (type == GoAway)
            {
                frames.Add(new Frame(type, flags, payload));
                return frames;
            }

            if (id != 1)
            {
                continue;
            }

            frames.Add(new Frame(type, flags, payload));
            if (type == RstStream || (type is Headers or Data && (flags & EndStream) != 0))
            {
                return frames;
            }
        }
    }

    private static void WriteFrame(Stream output, byte type, byte flags, int streamId, byte[] payload)
    {
        Span<byte> header = stackalloc byte[9];
        header[0] = (byte)(payload.Length >> 16);
        header[1] = (byte)(payload.Length >> 8);
        header[2] = (byte)payload.Length;
        header[3] = type;
        header[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(header[5..], streamId);
        output.Write(header);
        output.Write(payload);
    }

    private static void WriteString(Stream output, string value)
    {
        var bytes = Encoding.ASCII.GetBytes(value);
        // Integer with a 7-bit prefix (RFC 7541 §5.1), Huffman bit clear.
        var n = bytes.Length;
        if (n < 127)
        {
            output.WriteByte((byte)n);
        }
        else
        {
            output.WriteByte(127);
            for (n -= 127; n >= 128; n >>= 7)
            {
                output.WriteByte((byte)((n & 0x7F) | 0x80));
            }

            output.WriteByte((byte)n);
        }

        output.Write(bytes);
    }
}
