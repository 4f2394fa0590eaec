using Mesh.Guard.V1;
using Microsoft.Extensions.Options;

namespace Mesh.Gateway.Assistant;

/// <summary>
/// The input guard's verdict per (key, policy, question), kept for
/// <see cref="AssistantOptions.InputCheckCacheTtl"/>: the guard embeds the question for its
/// prompt-injection and topic rules, which is most of the input stage's cost, and a popular question
/// is asked again and again. Keyed by a hash of the caller's authorization so one key's verdict (in its
/// tenant's policy) is never served to another.
/// </summary>
public sealed class InputCheckCache(IOptions<AssistantOptions> options) : IDisposable
{
    private readonly CallerCache<CheckResponse> _cache = new(options.Value.InputCheckCacheEntries);

    /// <summary>The cached verdict, or the result of <paramref name="check"/>, cached when the cache is on.</summary>
    public Task<CheckResponse> GetOrCheckAsync(string? authorization, string policy, string text, Func<Task<CheckResponse>> check) =>
        _cache.GetOrAddAsync(authorization, [policy, text], options.Value.InputCheckCacheTtl, check);

    /// <inheritdoc/>
    public void Dispose() => _cache.Dispose();
}
