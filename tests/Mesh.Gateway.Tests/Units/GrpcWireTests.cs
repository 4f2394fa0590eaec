using Mesh.Gateway.GrpcWire;

namespace Mesh.Gateway.Tests.Units;

/// <summary>The gRPC wire details the gateway reads: message framing and grpc-timeout.</summary>
public sealed class GrpcWireTests
{
    [Fact]
    public void Messages_split_across_arbitrary_chunks_are_reassembled()
    {
        var stream = GrpcFrame.Encode([1, 2, 3]).Concat(GrpcFrame.Encode([])).Concat(GrpcFrame.Encode([9, 8])).ToArray();
        var seen = new List<byte[]>();
        var parser = new GrpcFrameParser(1024, m => seen.Add(m.Payload.ToArray()));

        foreach (var b in stream)
        {
            parser.Push([b]);
        }

        Assert.Equal([[1, 2, 3], [], [9, 8]], seen);
        Assert.True(parser.AtMessageBoundary);
    }

    [Fact]
    public void A_message_over_the_limit_is_skipped_without_being_buffered_and_parsing_resumes_after_it()
    {
        var stream = GrpcFrame.Encode(new byte[100]).Concat(GrpcFrame.Encode([7])).ToArray();
        var seen = new List<GrpcMessage>();
        var parser = new GrpcFrameParser(10, seen.Add);

        parser.Push(stream);

        Assert.Equal(2, seen.Count);
        Assert.True(seen[0].Skipped);
        Assert.Equal(100, seen[0].Length);
        Assert.Equal([7], seen[1].Payload.ToArray());
    }

    [Fact]
    public void A_bad_compression_flag_marks_the_stream_corrupt()
    {
        var parser = new GrpcFrameParser(10, _ => throw new InvalidOperationException("no message expected"));

        parser.Push([2, 0, 0, 0, 1, 0]);

        Assert.True(parser.Corrupt);
    }

    [Theory]
    [InlineData("1H", 3600_000)]
    [InlineData("2M", 120_000)]
    [InlineData("30S", 30_000)]
    [InlineData("250m", 250)]
    [InlineData("5000u", 5)]
    [InlineData("7000000n", 7)]
    public void Grpc_timeouts_parse_in_every_unit(string header, int expectedMs)
    {
        Assert.True(GrpcTimeout.TryParse(header, out var timeout));
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), timeout);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("10x")]
    [InlineData("123456789m")]
    [InlineData("-5S")]
    public void Malformed_grpc_timeouts_are_rejected(string header) =>
        Assert.False(GrpcTimeout.TryParse(header, out _));

    [Fact]
    public void Formatting_rounds_up_and_stays_within_eight_digits()
    {
        Assert.Equal("2m", GrpcTimeout.Format(TimeSpan.FromMilliseconds(1.2)));
        Assert.Equal("30000m", GrpcTimeout.Format(TimeSpan.FromSeconds(30)));
        Assert.True(GrpcTimeout.TryParse(GrpcTimeout.Format(TimeSpan.FromDays(30)), out var long_));
        Assert.True(long_ >= TimeSpan.FromDays(30));
    }

    [Theory]
    [InlineData("Missing API key: send the metadata 'authorization: Bearer <key>'.", "Missing API key: send the metadata 'authorization: Bearer <key>'.")]
    [InlineData("100% sure", "100%25 sure")]
    [InlineData("caf\u00e9\nnext", "caf%C3%A9%0Anext")]
    public void Grpc_message_percent_encodes_only_what_the_protocol_requires(string message, string header) =>
        Assert.Equal(header, GrpcError.EncodeMessage(System.Text.RegularExpressions.Regex.Unescape(message)));
}
