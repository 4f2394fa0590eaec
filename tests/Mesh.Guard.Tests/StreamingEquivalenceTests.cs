using Grpc.Core;
using Mesh.Guard.Checking;
using Mesh.Guard.Policies;
using Mesh.Guard.V1;

namespace Mesh.Guard.Tests;

/// <summary>
/// CheckStream judges each chunk from the last settled offset. What it reports must be what a
/// whole-text Check finds, however the text is cut; and its work must grow linearly with the
/// stream, not with the square of the number of chunks.
/// </summary>
[Collection(GuardCollection.Name)]
public sealed class StreamingEquivalenceTests(TestPolicyServer tests, Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly string[] Texts =
    [
        "Your advisor is Dana (dana.r@example.org, +44 20 7946 0018). The refund went to DE89 3704 0044 0532 0130 00 yesterday.",
        "Card 4111 1111 1111 1111 and SSN 536-22-4875; write to JANE.DOE@EXAMPLE.ORG or ping 10.0.0.12. Key AKIAZ3MXQWERTY7PLK2B, token=Zx9#kQ2!mL7@pV4s.",
        "Ticket SEC-4412 mentions Project Falcon 😀 and the codename; mail ops@example.com, IBAN gb82west12345698765432, host 2001:db8::ff00:42:8329.",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----\nthen eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U done.",
    ];

    [Theory]
    [InlineData("pii-mask")]
    [InlineData("lists")]
    public async Task Random_chunkings_report_exactly_what_a_whole_text_check_finds(string policy)
    {
        var random = new Random(1130);
        // Findings wait until the characters that could still change them have arrived: a tail
        // after the last one lets every finding be reported before the stream ends.
        foreach (var text in Texts.Select(t => t + " That is all for today; thank you very much for asking us."))
        {
            var check = await tests.Server.CheckAsync(text, Stage.Output, policy);
            var expected = check.Violations.Select(Key).OrderBy(k => k).ToList();
            for (var trial = 0; trial < 12; trial++)
            {
                var (interim, final, blocked) = await Stream(text, policy, random);
                if (blocked)
                {
                    // A block ends the stream: what was reported is what Check found up to there (a
                    // length violation runs to the end of the text received so far).
                    Assert.Equal(V1.Action.Block, check.Verdict);
                    Assert.Subset(expected.Select(k => (k.Rule, k.Entity, k.Start)).ToHashSet(), interim.Select(Key).Select(k => (k.Rule, k.Entity, k.Start)).ToHashSet());
                    continue;
                }
                Assert.Equal(expected, interim.Select(Key).OrderBy(k => k).ToList());
                Assert.NotNull(final);
                Assert.Equal(check.Verdict, final.Verdict);
                Assert.Equal(check.RedactedText, final.RedactedText);
                Assert.Equal(check.Violations, final.Violations);
            }
        }
    }

    [Fact]
    public void Streaming_work_grows_linearly_with_the_number_of_chunks()
    {
        const string yaml = """
            policies:
              default:
                rules:
                  - { name: pii, detector: pii, action: redact }
                  - { name: secrets, detector: secrets, action: redact }
                  - { name: words, detector: keyword, keywords: [Project Falcon], action: redact }
                  - { name: tickets, detector: regex, patterns: ['\bSEC-\d{3,6}\b'], action: redact }
                  - { name: length, detector: length, max_chars: 10000000, action: block }
                  - { name: injection, detector: prompt_injection, action: redact }
                  - { name: topics, detector: topic, denied_topics: [medical advice], action: redact }
            """;
        var embedder = new ZeroEmbedder();
        var policy = new PolicyParser(embedder).Parse(yaml, "stream.yaml", 1).Policies["default"];
        var evaluator = new PolicyEvaluator(embedder, new Mesh.Guard.Telemetry.GuardTelemetry(new NoMeters()));

        (long Scanned, int Embedded) Run(int chunks)
        {
            var before = embedder.Embedded;
            var stream = evaluator.StartStream(policy, Stages.Output, null);
            for (var i = 0; i < chunks; i++)
            {
                // A 57-character sentence, each one different (so each is embedded once).
                stream.Append($"Sentence {i,5} of the answer talks about the weather. ");
            }
            return (stream.CharactersScanned, embedder.Embedded - before);
        }

        var small = Run(1_000);
        var large = Run(2_000);
        // Linear: twice the chunks, about twice the work (quadratic would be four times). The
        // first ~150 chunks are shorter than the secrets detector's 8.4 K reach, hence the slack.
        var ratio = (double)large.Scanned / small.Scanned;
        output.WriteLine($"1,000 chunks: {small.Scanned} characters scanned; 2,000 chunks: {large.Scanned}; ratio {ratio:F3}");
        Assert.InRange(ratio, 1.8, 2.25);
        // Per chunk, a bounded amount: the chunk plus the widest rule's reach, per rule.
        Assert.True(large.Scanned / 2_000 < 7 * 9_000, $"{large.Scanned / 2_000} characters scanned per chunk");
        // Each sentence is embedded once, however many chunks follow it (the last one waits for
        // what follows it, or for the final whole-text check).
        Assert.Equal(999, small.Embedded);
        Assert.Equal(1_999, large.Embedded);
    }

    private static (string Rule, string Entity, int Start, int End) Key(V1.Violation v) => (v.Rule, v.EntityType, v.Start, v.End);

    private async Task<(List<V1.Violation> Interim, CheckStreamResponse? Final, bool Blocked)> Stream(string text, string policy, Random random)
    {
        using var call = tests.Server.Client.CheckStream();
        var interim = new List<V1.Violation>();
        var at = 0;
        var first = true;
        while (at < text.Length)
        {
            var length = Math.Min(text.Length - at, random.Next(1, 24));
            if (char.IsHighSurrogate(text[at + length - 1]) && at + length < text.Length)
            {
                length++; // the contract's chunks are strings: do not split an emoji's two halves
            }
            await call.RequestStream.WriteAsync(new CheckStreamRequest
            {
                Chunk = text.Substring(at, length),
                Policy = first ? policy : "",
                Stage = first ? Stage.Output : Stage.Unspecified,
            });
            at += length;
            first = false;
            Assert.True(await call.ResponseStream.MoveNext());
            interim.AddRange(call.ResponseStream.Current.Violations);
            if (call.ResponseStream.Current.Verdict == V1.Action.Block)
            {
                return (interim, null, true);
            }
        }
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        var final = call.ResponseStream.Current;
        Assert.True(final.Final);
        return (interim, final, false);
    }

    private sealed class NoMeters : System.Diagnostics.Metrics.IMeterFactory
    {
        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
