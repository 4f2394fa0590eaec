using Mesh.Inference.Engine;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests.Engine;

/// <summary>
/// The prefix cache on a real model: a hash collision never hands one request another's keys and
/// values, and tenants (the cache salt) never share blocks.
/// </summary>
public sealed class PrefixCacheIsolationTests
{
    private const string Story = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends and her dog.";
    private const string Other = "Tom had a big red ball. He liked to kick it very high in the sky, and his little sister clapped each time it came down again.";

    [Fact]
    public async Task AForcedHashCollisionDoesNotServeAnotherRequestsKeysAndValues()
    {
        // Every block hashes to the same value, so every lookup finds the first cached block.
        using var colliding = new EngineHarness(TestModels.Stories260KGguf, blockHasher: static (_, _) => 7);
        using var cold = new EngineHarness(TestModels.Stories260KGguf, new EngineOptions { EnablePrefixCaching = false });
        var story = Request(colliding, Story);
        var other = Request(colliding, Other);

        var first = await colliding.RunAsync(story);
        var second = await colliding.RunAsync(other);

        Assert.Equal(0, second.Last.Usage!.CachedPromptTokens);
        Assert.Equal((await cold.RunAsync(other)).Tokens, second.Tokens);
        var again = await colliding.RunAsync(story); // the same prompt still finds its own first block
        Assert.Equal(colliding.Backend.KvGeometry.BlockSize, again.Last.Usage!.CachedPromptTokens);
        Assert.Equal(first.Tokens, again.Tokens);
    }

    [Fact]
    public async Task TenantsDoNotShareBlocksButATenantReusesItsOwn()
    {
        using var harness = new EngineHarness(TestModels.Stories260KGguf);
        var a = Request(harness, Story) with { CacheSalt = "tenant-a" };
        var b = a with { CacheSalt = "tenant-b" };

        var firstA = await harness.RunAsync(a);
        var firstB = await harness.RunAsync(b);
        var secondA = await harness.RunAsync(a);

        Assert.Equal(0, firstA.Last.Usage!.CachedPromptTokens);
        Assert.Equal(0, firstB.Last.Usage!.CachedPromptTokens);
        Assert.True(secondA.Last.Usage!.CachedPromptTokens >= 2 * harness.Backend.KvGeometry.BlockSize, $"only {secondA.Last.Usage.CachedPromptTokens} cached tokens");
        Assert.Equal(firstA.Tokens, firstB.Tokens);
        Assert.Equal(firstA.Tokens, secondA.Tokens);
    }

    private static GenerationRequest Request(EngineHarness harness, string prompt) =>
        EngineHarness.Greedy(harness.Model.Tokenizer.Encode(prompt, addBos: true), 12);
}
