using System.Net;

namespace Mesh.Gateway.Routing;

/// <summary>
/// Sends a forwarded request whose body the gateway has already read whole (a unary or
/// server-streaming call, <see cref="Authorization.RequestMessageReader"/>) in one write instead of
/// three. YARP's request content treats every gRPC body as a live stream: it flushes once to send the
/// HEADERS frame, again after each DATA write, and HttpClient then sends END_STREAM on its own, so a
/// unary call cost three <c>send</c> syscalls on the hop to the service (a direct client sends one).
/// Without those flushes HttpClient's HTTP/2 writer coalesces HEADERS, DATA and END_STREAM, which
/// follows the last write at once because the body is in memory. Streaming request bodies (client
/// and bidirectional streaming) are left alone: they must flush per message.
/// </summary>
public sealed class BufferedRequestSendHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    /// <summary>Set on a forwarded request whose body is already in memory (<see cref="BufferedBodyTransformProvider"/>).</summary>
    public static readonly HttpRequestOptionsKey<bool> BodyBuffered = new("Mesh.Gateway.BodyBuffered");

    /// <inheritdoc/>
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Content is { } content && request.Options.TryGetValue(BodyBuffered, out var buffered) && buffered)
        {
            request.Content = new UnflushedContent(content);
        }

        return base.SendAsync(request, cancellationToken);
    }

    /// <summary>YARP's content, serialized through a stream that ignores its flushes; same headers, no length.</summary>
    private sealed class UnflushedContent : HttpContent
    {
        private readonly HttpContent _inner;

        public UnflushedContent(HttpContent inner)
        {
            _inner = inner;
            foreach (var header in inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            _inner.CopyToAsync(new UnflushedStream(stream), context);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            _inner.CopyToAsync(new UnflushedStream(stream), context, cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>HttpClient's request stream with Flush a no-op: the end of the body flushes the frames.</summary>
    private sealed class UnflushedStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(buffer, cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
