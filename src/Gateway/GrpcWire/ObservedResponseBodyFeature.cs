using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace Mesh.Gateway.GrpcWire;

/// <summary>
/// The response body as YARP writes it, with a copy of every byte handed to an observer (the token
/// meter, the upstream-failure handler's frame tracking) at once and unchanged. It replaces the <see cref="IHttpResponseBodyFeature"/> rather than
/// <c>Response.Body</c>: setting <c>Response.Body</c> wraps the stream in a feature whose
/// <c>CompleteAsync</c> flushes it, which sends the response headers without END_STREAM. For a
/// trailers-only gRPC response (a failed call: <c>grpc-status</c> in the headers, no body) strict
/// clients (grpc-core, grpc-js) then see no status at all. Start and completion go to Kestrel's own
/// feature here, so an empty body still ends as one HEADERS frame with END_STREAM.
/// </summary>
public sealed class ObservedResponseBodyFeature : IHttpResponseBodyFeature
{
    private readonly IHttpResponseBodyFeature _inner;
    private readonly ObservedStream _stream;
    private PipeWriter? _writer;

    /// <summary>Wraps <paramref name="inner"/>, showing every byte written to <paramref name="observe"/> before it is passed on.</summary>
    public ObservedResponseBodyFeature(IHttpResponseBodyFeature inner, Action<ReadOnlySpan<byte>> observe)
    {
        _inner = inner;
        _stream = new ObservedStream(inner.Stream, observe);
    }

    /// <inheritdoc/>
    public Stream Stream => _stream;

    /// <inheritdoc/>
    public PipeWriter Writer => _writer ??= PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true));

    /// <inheritdoc/>
    public void DisableBuffering() => _inner.DisableBuffering();

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken = default) => _inner.StartAsync(cancellationToken);

    /// <inheritdoc/>
    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        SendFileFallback.SendFileAsync(_stream, path, offset, count, cancellationToken);

    /// <inheritdoc/>
    public async Task CompleteAsync()
    {
        if (_writer is not null)
        {
            await _writer.CompleteAsync();
        }

        await _inner.CompleteAsync();
    }

    /// <summary>Writes through to Kestrel's stream, then shows the bytes to the observer; never reads.</summary>
    private sealed class ObservedStream(Stream inner, Action<ReadOnlySpan<byte>> observe) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            observe(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            observe(buffer.Span);
        }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
