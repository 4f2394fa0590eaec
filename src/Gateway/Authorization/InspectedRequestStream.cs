using Mesh.Gateway.GrpcWire;

namespace Mesh.Gateway.Authorization;

/// <summary>
/// The request body of a streaming call as YARP reads it: first the message the gateway already read
/// and checked, then the rest of the caller's stream, each later message checked as it passes. A
/// message that fails the check ends the call: the response has usually started by then, so no clean
/// status can be sent and the HTTP/2 stream is reset instead (the caller sees the call fail).
/// </summary>
public sealed class InspectedRequestStream : Stream
{
    private readonly Stream _inner;
    private readonly HttpContext _context;
    private readonly GrpcFrameParser _parser;
    private readonly Func<GrpcMessage, string?> _check;
    private ReadOnlyMemory<byte> _prefix;
    private string? _refusal;

    /// <summary>Wraps the request body: <paramref name="alreadyRead"/> is replayed first, then every later message is passed to <paramref name="check"/> (a non-null answer fails the stream with that message).</summary>
    public InspectedRequestStream(HttpContext context, ReadOnlyMemory<byte> alreadyRead, int maxMessageBytes, Func<GrpcMessage, string?> check)
    {
        _context = context;
        _inner = context.Request.Body;
        _prefix = alreadyRead;
        _check = check;
        _parser = new GrpcFrameParser(maxMessageBytes, m => _refusal ??= _check(m));
    }

    /// <inheritdoc/>
    public override bool CanRead => true;
    /// <inheritdoc/>
    public override bool CanSeek => false;
    /// <inheritdoc/>
    public override bool CanWrite => false;
    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();
    /// <inheritdoc/>
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <inheritdoc/>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_prefix.IsEmpty)
        {
            var n = Math.Min(buffer.Length, _prefix.Length);
            _prefix[..n].CopyTo(buffer);
            _prefix = _prefix[n..];
            return n;
        }

        var read = await _inner.ReadAsync(buffer, cancellationToken);
        _parser.Push(buffer.Span[..read]);
        if (_refusal is not null)
        {
            _context.Abort();
            throw new IOException(_refusal);
        }

        return read;
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // YARP reads request bodies asynchronously, and Kestrel forbids synchronous I/O.
    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();
    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
