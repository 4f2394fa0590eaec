using Google.Protobuf;
using Mesh.Gateway.GrpcWire;
using Mesh.Gateway.Metering;
using InferenceV1 = Mesh.Inference.V1;

namespace Mesh.Gateway.Tests.Units;

/// <summary>Counting generated tokens from response bytes as they stream, for any message size.</summary>
public sealed class GeneratedTokenScannerTests
{
    private static readonly GenerationMethods.Layout Complete = GenerationMethods.Find("/mesh.inference.v1.InferenceService/Complete")!;
    private static readonly GenerationMethods.Layout Generate = GenerationMethods.Find("/mesh.inference.v1.InferenceService/Generate")!;

    [Fact]
    public void Only_Generate_and_Complete_are_generation()
    {
        Assert.NotNull(Complete);
        Assert.NotNull(Generate);
        foreach (var other in new[] { "Tokenize", "Score", "Detokenize", "ListModels" })
        {
            Assert.Null(GenerationMethods.Find($"/mesh.inference.v1.InferenceService/{other}"));
        }
    }

    [Fact]
    public void A_completion_larger_than_4_MiB_is_counted_with_constant_memory()
    {
        var response = new InferenceV1.CompleteResponse
        {
            Text = new string('x', 6 * 1024 * 1024),
            Usage = new InferenceV1.Usage { PromptTokens = 7, CompletionTokens = 3000 },
        };
        response.TokenIds.AddRange(Enumerable.Range(0, 3000).Select(i => i * 97));
        var bytes = GrpcFrame.Encode(response.ToByteArray());
        long charged = 0;
        var scanner = new GeneratedTokenScanner(Complete, n => charged += n);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var at = 0; at < bytes.Length; at += 16 * 1024)
        {
            scanner.Push(bytes.AsSpan(at, Math.Min(16 * 1024, bytes.Length - at)));
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(3000, charged);
        Assert.False(scanner.Corrupt);
        Assert.True(allocated < 64 * 1024, $"{allocated} bytes allocated to scan {bytes.Length} bytes");
    }

    [Fact]
    public void A_stream_is_charged_per_message_and_topped_up_by_usage_whatever_the_chunking()
    {
        var messages = new List<InferenceV1.GenerateResponse>();
        for (var i = 0; i < 5; i++)
        {
            messages.Add(new InferenceV1.GenerateResponse { Text = "ab", TokenIds = { 300 + i, 1 } });
        }

        // The last message reports 14 in all: 4 more than its ids show (e.g. ids of a stop sequence withheld).
        messages.Add(new InferenceV1.GenerateResponse { Usage = new InferenceV1.Usage { CompletionTokens = 14 } });
        var bytes = messages.SelectMany(m => GrpcFrame.Encode(m.ToByteArray())).ToArray();
        var random = new Random(7);

        for (var round = 0; round < 200; round++)
        {
            var charges = new List<long>();
            var scanner = new GeneratedTokenScanner(Generate, charges.Add);
            for (var at = 0; at < bytes.Length;)
            {
                var n = Math.Min(random.Next(1, 9), bytes.Length - at);
                scanner.Push(bytes.AsSpan(at, n));
                at += n;
            }

            Assert.Equal([2, 2, 2, 2, 2, 4], charges);
            Assert.False(scanner.Corrupt);
        }
    }

    [Fact]
    public void Bytes_that_are_not_the_response_protobuf_stop_counting_without_throwing()
    {
        var scanner = new GeneratedTokenScanner(Complete, _ => { });

        scanner.Push(GrpcFrame.Encode([0x12, 0xFF, 0xFF, 0xFF, 0x0F])); // field 2, length past the message end

        Assert.True(scanner.Corrupt);
    }
}
