using System.IO.Compression;
using System.Net;
using Mesh.Gateway.Tests.Infrastructure;

namespace Mesh.Gateway.Tests;

/// <summary>
/// A gzip request frame is inflated only up to the gateway's message-size limit: a small frame that
/// would inflate to 256 MiB is refused with RESOURCE_EXHAUSTED while the gateway's memory stays flat.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class DecompressionTests(MeshFixture mesh)
{
    private const long InflatedBytes = 256L * 1024 * 1024;

    [Fact]
    public async Task A_gzip_bomb_is_refused_with_RESOURCE_EXHAUSTED_without_being_inflated()
    {
        var bomb = GzipOfZeros(InflatedBytes);
        Assert.True(bomb.Length < 1024 * 1024, $"the frame is small ({bomb.Length} bytes)");
        var frame = new byte[5 + bomb.Length];
        frame[0] = 1; // compressed
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)bomb.Length);
        bomb.CopyTo(frame, 5);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(mesh.Gateway.Address, "/mesh.inference.v1.InferenceService/Tokenize"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame),
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.TryAddWithoutValidation("grpc-encoding", "gzip");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation("authorization", $"Bearer {mesh.Admin.Secret}");

        // The gateway runs in this process: its allocations are this process's.
        var before = GC.GetTotalAllocatedBytes(precise: true);
        using var response = await http.SendAsync(request);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.Equal("8", response.Headers.GetValues("grpc-status").Single()); // RESOURCE_EXHAUSTED
        Assert.Contains("inflates to more than the gateway's limit", response.Headers.GetValues("grpc-message").Single(), StringComparison.Ordinal);
        Assert.True(allocated < 64L * 1024 * 1024, $"{allocated / (1024 * 1024)} MiB allocated while refusing a frame that inflates to 256 MiB");
    }

    private static byte[] GzipOfZeros(long length)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            var zeros = new byte[1024 * 1024];
            for (long written = 0; written < length; written += zeros.Length)
            {
                gzip.Write(zeros);
            }
        }

        return output.ToArray();
    }
}
