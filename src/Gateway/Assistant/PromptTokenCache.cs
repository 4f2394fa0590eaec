using Mesh.Inference.V1;
using Microsoft.Extensions.Options;

namespace Mesh.Gateway.Assistant;

/// <summary>
/// The token count of a conversation as Inference's <c>Tokenize</c> (with <c>messages</c>) gave it,
/// per (key, model, conversation), kept for <see cref="AssistantOptions.PromptTokenCacheTtl"/>. A
/// popular question retrieves the same sources, so its prompt is the same text and its count the same
/// number: fitting it to the context again would cost a hop through the gateway to Inference and a
/// chat-template rendering for nothing. The count is a function of the model's tokenizer and template
/// alone; a model replaced under the same id is counted afresh after at most the TTL, and until then a
/// prompt that no longer fits is refused by Chat, which names the limit.
/// </summary>
public sealed class PromptTokenCache(IOptions<AssistantOptions> options) : IDisposable
{
    private readonly CallerCache<int[]> _cache = new(options.Value.PromptTokenCacheEntries);

    /// <summary>The cached count, or the result of <paramref name="count"/>, cached when the cache is on.</summary>
    public async Task<int> GetOrCountAsync(string? authorization, string model, IReadOnlyList<ChatMessage> prompt, Func<Task<int>> count)
    {
        var parts = new string[1 + 2 * prompt.Count];
        parts[0] = model;
        for (var i = 0; i < prompt.Count; i++)
        {
            parts[1 + 2 * i] = prompt[i].Role;
            parts[2 + 2 * i] = prompt[i].Content;
        }

        // Boxed in an array: MemoryCache cannot tell a cached 0 from a miss for a value type here.
        var counted = await _cache.GetOrAddAsync(authorization, parts, options.Value.PromptTokenCacheTtl,
            async () => [await count().ConfigureAwait(false)]).ConfigureAwait(false);
        return counted[0];
    }

    /// <inheritdoc/>
    public void Dispose() => _cache.Dispose();
}
