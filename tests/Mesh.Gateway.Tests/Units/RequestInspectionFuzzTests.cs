using System.IO.Compression;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Mesh.Gateway.Authorization;
using Mesh.Gateway.GrpcWire;
using Mesh.Gateway.Metering;
using Microsoft.AspNetCore.Http;
using GuardV1 = Mesh.Guard.V1;
using InferenceV1 = Mesh.Inference.V1;
using RetrievalV1 = Mesh.Retrieval.V1;

namespace Mesh.Gateway.Tests.Units;

/// <summary>
/// The gateway's request inspection (frame parsing, gzip, protobuf decoding) and response metering
/// read bytes from callers and services. Thousands of mutated inputs, from a fixed seed so every run
/// sees the same ones: each is parsed or refused with a status and a message, never an exception,
/// never unbounded work.
/// </summary>
public sealed class RequestInspectionFuzzTests
{
    private const int Seed = 20261130;
    private const int Inputs = 4000;
    private const int MaxMessageBytes = 64 * 1024;

    private static readonly (MessageDescriptor Type, IMessage Sample)[] Seeds =
    [
        (InferenceV1.GenerateRequest.Descriptor, new InferenceV1.GenerateRequest
        {
            Model = "stories260K", Prompt = "Once upon a time", MaxTokens = 16, PromptTokenIds = { 1, 300, 70000 },
            Sampling = new InferenceV1.SamplingParams { Temperature = 0.7f, TopP = 0.9f, TopK = 40 },
        }),
        (RetrievalV1.ImportRequest.Descriptor, new RetrievalV1.ImportRequest
        {
            Collection = "docs",
            Points = { new RetrievalV1.PointStruct { Id = new RetrievalV1.PointId { Uuid = "a-b" }, Vector = new RetrievalV1.Vector { Values = { 1f, 2f, 3f } } } },
        }),
        (GuardV1.CheckRequest.Descriptor, new GuardV1.CheckRequest { Policy = "default", Text = "my card is 4111 1111 1111 1111", JsonSchema = "{\"type\":\"object\"}" }),
    ];

    [Fact(Timeout = 300_000)]
    public async Task Mutated_request_streams_are_parsed_or_refused_with_a_status_never_a_crash()
    {
        var random = new Random(Seed);
        var outcomes = new Dictionary<StatusCode, int>();
        for (var i = 0; i < Inputs; i++)
        {
            var (type, sample) = Seeds[i % Seeds.Length];
            var compressed = random.Next(3) == 0;
            var input = Mutate(random, Stream(random, sample, compressed));

            // Whole-body read of a unary call, as ResourceAuthorizationMiddleware does.
            var unary = await RequestMessageReader.ReadAsync(Context(input, compressed), type, MaxMessageBytes);
            Count(outcomes, AssertOutcome(unary, input));

            // First message of a streaming call, then every later message as it passes in random chunks.
            var (first, _) = await RequestMessageReader.ReadFirstAsync(Context(input, compressed), type, MaxMessageBytes);
            Count(outcomes, AssertOutcome(first, input, firstOfStream: true));
            var context = Context(input, compressed);
            var parser = new GrpcFrameParser(MaxMessageBytes, m => Count(outcomes, AssertOutcome(RequestMessageReader.Decode(context, m, type, MaxMessageBytes), input)));
            for (var at = 0; at < input.Length;)
            {
                var n = Math.Min(random.Next(1, 64), input.Length - at);
                parser.Push(input.AsSpan(at, n));
                at += n;
            }
        }

        // The corpus reaches both sides: accepted messages and each kind of refusal.
        Assert.True(outcomes.GetValueOrDefault(StatusCode.OK) > 100, Describe(outcomes));
        Assert.True(outcomes.GetValueOrDefault(StatusCode.InvalidArgument) > 100, Describe(outcomes));
        Assert.True(outcomes.GetValueOrDefault(StatusCode.ResourceExhausted) > 10, Describe(outcomes));
    }

    [Fact(Timeout = 300_000)]
    public async Task Mutated_response_streams_never_break_the_token_meter()
    {
        await Task.Yield();
        var random = new Random(Seed + 1);
        var layout = GenerationMethods.Find("/mesh.inference.v1.InferenceService/Generate")!;
        var sample = new InferenceV1.GenerateResponse
        {
            Text = "Once", TokenIds = { 300, 1, 70000 },
            Usage = new InferenceV1.Usage { PromptTokens = 5, CompletionTokens = 3 },
        };
        var corrupt = 0;
        for (var i = 0; i < Inputs; i++)
        {
            var input = Mutate(random, Stream(random, sample, compressed: false));
            long charged = 0;
            var scanner = new GeneratedTokenScanner(layout, n =>
            {
                Assert.True(n > 0);
                charged += n;
            });
            for (var at = 0; at < input.Length;)
            {
                var n = Math.Min(random.Next(1, 64), input.Length - at);
                scanner.Push(input.AsSpan(at, n));
                at += n;
            }

            // Charges only ever add (usage may report any count the service claims; ids count once each).
            Assert.True(charged >= 0);
            corrupt += scanner.Corrupt ? 1 : 0;
        }

        Assert.InRange(corrupt, 1, Inputs - 1);
    }

    private static StatusCode AssertOutcome(RequestMessageReader.Result result, byte[] input, bool firstOfStream = false)
    {
        if (result.Status == StatusCode.OK)
        {
            Assert.True(result.Message is not null || (firstOfStream && input.Length == 0), "OK carries the decoded message");
            Assert.Null(result.Error);
        }
        else
        {
            Assert.Null(result.Message);
            Assert.Contains(result.Status, new[] { StatusCode.InvalidArgument, StatusCode.ResourceExhausted, StatusCode.Unimplemented });
            Assert.False(string.IsNullOrWhiteSpace(result.Error), "a refusal says why");
        }

        return result.Status;
    }

    /// <summary>One to three framed copies of the sample, each possibly gzip-compressed.</summary>
    private static byte[] Stream(Random random, IMessage sample, bool compressed)
    {
        var output = new MemoryStream();
        for (var copies = random.Next(1, 4); copies > 0; copies--)
        {
            var payload = sample.ToByteArray();
            if (compressed)
            {
                var gz = new MemoryStream();
                using (var gzip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
                {
                    gzip.Write(payload);
                }

                payload = gz.ToArray();
            }

            var frame = GrpcFrame.Encode(payload);
            frame[0] = compressed ? (byte)1 : (byte)0;
            output.Write(frame);
        }

        return output.ToArray();
    }

    private static byte[] Mutate(Random random, byte[] input)
    {
        var bytes = new List<byte>(input);
        for (var edits = random.Next(0, 5); edits > 0 && bytes.Count > 0; edits--)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(7))
            {
                case 0: bytes[at] ^= (byte)(1 << random.Next(8)); break;                       // bit flip
                case 1: bytes[at] = (byte)random.Next(256); break;                              // random byte
                case 2: bytes.RemoveRange(at, bytes.Count - at); break;                         // truncation
                case 3: bytes.InsertRange(at, Enumerable.Range(0, random.Next(1, 16)).Select(_ => (byte)random.Next(256))); break;
                case 4: bytes.InsertRange(at, bytes.GetRange(at, Math.Min(bytes.Count - at, random.Next(1, 32)))); break; // duplication
                case 5: bytes[at] = 0xFF; break;                                                // large varints / lengths
                default:
                    // A length prefix rewritten: anything from 0 to 4 GiB.
                    if (bytes.Count >= 5)
                    {
                        var value = BitConverter.GetBytes((uint)random.NextInt64(0, uint.MaxValue + 1L));
                        for (var k = 0; k < 4; k++)
                        {
                            bytes[1 + k] = value[3 - k];
                        }
                    }

                    break;
            }
        }

        return [.. bytes];
    }

    private static DefaultHttpContext Context(byte[] body, bool compressed)
    {
        var context = new DefaultHttpContext();
        context.Request.Body = new MemoryStream(body, writable: false);
        if (compressed)
        {
            context.Request.Headers["grpc-encoding"] = "gzip";
        }

        return context;
    }

    private static void Count(Dictionary<StatusCode, int> outcomes, StatusCode status) =>
        outcomes[status] = outcomes.GetValueOrDefault(status) + 1;

    private static string Describe(Dictionary<StatusCode, int> outcomes) =>
        string.Join(", ", outcomes.Select(kv => $"{kv.Key}: {kv.Value}"));
}
