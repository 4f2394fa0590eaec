using System.Net;
using System.Net.Http.Headers;
using Mesh.Gateway.Routing;

namespace Mesh.Gateway.Tests.Units;

/// <summary>
/// A forwarded request whose body the gateway read whole goes to the connection without flushes (so
/// HttpClient coalesces HEADERS, DATA and END_STREAM), byte for byte and with its content headers;
/// any other request keeps YARP's flushes, which streaming calls need.
/// </summary>
public sealed class BufferedRequestSendHandlerTests
{
    private static readonly byte[] Body = [0, 0, 0, 0, 5, 10, 3, 0x61, 0x62, 0x63];

    [Fact]
    public async Task A_buffered_body_is_sent_whole_with_its_content_type_and_without_flushes()
    {
        var connection = new RecordingHandler();
        using var invoker = new HttpMessageInvoker(new BufferedRequestSendHandler(connection));
        using var request = Request();
        request.Options.Set(BufferedRequestSendHandler.BodyBuffered, true);

        using var response = await invoker.SendAsync(request, CancellationToken.None);

        Assert.Equal(Body, connection.Written);
        Assert.Equal(0, connection.Flushes);
        Assert.Equal("application/grpc", connection.ContentType);
        Assert.Null(connection.ContentLength);
    }

    [Fact]
    public async Task A_streaming_body_keeps_every_flush()
    {
        var connection = new RecordingHandler();
        using var invoker = new HttpMessageInvoker(new BufferedRequestSendHandler(connection));
        using var request = Request();

        using var response = await invoker.SendAsync(request, CancellationToken.None);

        Assert.Equal(Body, connection.Written);
        Assert.Equal(2, connection.Flushes);
    }

    private static HttpRequestMessage Request()
    {
        var content = new FlushingContent(Body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        return new HttpRequestMessage(HttpMethod.Post, "http://replica/mesh.inference.v1.InferenceService/Tokenize") { Content = content };
    }

    /// <summary>Writes like YARP's request content for a gRPC call: flush (to send HEADERS), write, flush.</summary>
    private sealed class FlushingContent(byte[] body) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.FlushAsync();
            await stream.WriteAsync(body);
            await stream.FlushAsync();
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }

    /// <summary>Stands in for the HTTP/2 connection: serializes the request content and counts the flushes.</summary>
    private sealed class RecordingHandler : HttpMessageHandler
    {
        public byte[] Written { get; private set; } = [];

        public int Flushes { get; private set; }

        public string? ContentType { get; private set; }

        public long? ContentLength { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var stream = new CountingStream();
            await request.Content!.CopyToAsync(stream, cancellationToken);
            (Written, Flushes) = (stream.ToArray(), stream.Flushes);
            ContentType = request.Content.Headers.ContentType?.MediaType;
            ContentLength = request.Content.Headers.ContentLength;
            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }

    private sealed class CountingStream : MemoryStream
    {
        public int Flushes { get; private set; }

        public override Task FlushAsync(CancellationToken cancellationToken)
        {
            Flushes++;
            return Task.CompletedTask;
        }

        public override void Flush() => Flushes++;
    }
}
