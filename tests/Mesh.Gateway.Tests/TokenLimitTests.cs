using System.Globalization;
using Grpc.Core;
using Mesh.Gateway.Tests.Infrastructure;
using InferenceV1 = Mesh.Inference.V1;

namespace Mesh.Gateway.Tests;

/// <summary>
/// Generated tokens per minute, counted from what Inference returns: a call is admitted while the
/// minute's budget is not spent, and its tokens are charged as they stream through.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class TokenLimitTests(MeshFixture mesh)
{
    private static InferenceV1.GenerateRequest Request => new()
    {
        Model = "stories260K",
        Prompt = "Once upon a time",
        MaxTokens = 16,
        IgnoreEos = true,
        Sampling = new InferenceV1.SamplingParams { Temperature = 0 },
    };

    [Fact]
    public async Task A_unary_completion_spends_the_budget_and_the_next_call_is_refused()
    {
        var client = new InferenceV1.InferenceService.InferenceServiceClient(mesh.Channel);

        var first = await client.CompleteAsync(Request, mesh.FewTokens.Metadata);
        Assert.Equal(16, first.Usage.CompletionTokens);

        var refused = await Calls.FailureOf(() => client.CompleteAsync(Request, mesh.FewTokens.Metadata).ResponseAsync);
        AssertTokenLimit(refused);
    }

    [Fact]
    public async Task A_streamed_generation_spends_the_budget_and_the_next_call_is_refused()
    {
        var client = new InferenceV1.InferenceService.InferenceServiceClient(mesh.Channel);

        var streamed = 0;
        using (var call = client.Generate(Request, mesh.FewStreamedTokens.Metadata))
        {
            await foreach (var message in call.ResponseStream.ReadAllAsync())
            {
                streamed += message.TokenIds.Count;
            }
        }

        Assert.Equal(16, streamed);
        var refused = await Calls.FailureOf(async () =>
        {
            using var call = client.Generate(Request, mesh.FewStreamedTokens.Metadata);
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });
        AssertTokenLimit(refused);
    }

    [Fact]
    public async Task Tokens_are_metered_per_key()
    {
        var client = new InferenceV1.InferenceService.InferenceServiceClient(mesh.Channel);

        // The admin key's budget is untouched by the other keys' spending.
        var answer = await client.CompleteAsync(Request, mesh.Admin.Metadata);

        Assert.Equal(16, answer.Usage.CompletionTokens);
    }

    [Fact]
    public async Task Tokenize_and_Score_are_never_charged_however_many_token_ids_they_return()
    {
        var client = new InferenceV1.InferenceService.InferenceServiceClient(mesh.Channel);
        var text = string.Join(' ', Enumerable.Repeat("Once upon a time there was a little girl.", 10));

        long returned = 0;
        for (var i = 0; i < 3; i++)
        {
            returned += (await client.TokenizeAsync(new InferenceV1.TokenizeRequest { Model = "stories260K", Text = text }, mesh.Unmetered.Metadata)).TokenIds.Count;
            returned += (await client.ScoreAsync(new InferenceV1.ScoreRequest { Model = "stories260K", Text = text }, mesh.Unmetered.Metadata)).TokenIds.Count;
        }

        // Far more ids than the 10-token budget came back, yet generation is still admitted and spends it.
        Assert.True(returned > 100, $"{returned} token ids returned");
        var generated = await client.CompleteAsync(Request, mesh.Unmetered.Metadata);
        Assert.Equal(16, generated.Usage.CompletionTokens);
        AssertTokenLimit(await Calls.FailureOf(() => client.CompleteAsync(Request, mesh.Unmetered.Metadata).ResponseAsync));
    }

    private static void AssertTokenLimit(RpcException refused)
    {
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("10 generated tokens per minute", refused.Status.Detail, StringComparison.Ordinal);
        var retryAfterMs = int.Parse(refused.Trailers.GetValue("retry-after-ms")!, CultureInfo.InvariantCulture);
        Assert.InRange(retryAfterMs, 1, 60_000);
    }
}
