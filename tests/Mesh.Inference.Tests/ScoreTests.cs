using Mesh.Inference.Tests.Reference;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests;

public sealed class ScoreTests
{
    [Fact]
    public async Task ScoreEqualsTheNllSummedFromTheReferenceLogSoftmax()
    {
        using var harness = new EngineHarness(TestModels.Stories260KGguf);
        var ids = harness.Model.Tokenizer.Encode("Once upon a time, there was a big dog. The dog liked to run.", addBos: true);

        var logprobs = await harness.Engine.ScoreAsync(ids, CancellationToken.None);

        var reference = new ScalarLlama(EngineHarness.Stories260KBin);
        var expectedNll = 0.0;
        for (var i = 0; i < ids.Length - 1; i++)
        {
            var logits = reference.Forward(ids[i], i);
            var max = logits.Max();
            var lse = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
            var expected = logits[ids[i + 1]] - lse;
            Assert.Equal(expected, logprobs[i], 3);
            expectedNll -= expected;
        }

        Assert.Equal(ids.Length - 1, logprobs.Length);
        Assert.Equal(expectedNll, -logprobs.Sum(l => (double)l), 2);
    }
}
