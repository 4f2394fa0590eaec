using System.Security.Cryptography;
using System.Text;
using Mesh.Guard.V1;
using Microsoft.Extensions.Caching.Memory;
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
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = Math.Max(1, options.Value.InputCheckCacheEntries) });

    /// <summary>The cached verdict, or the result of <paramref name="check"/>, cached when the cache is on.</summary>
    public async Task<CheckResponse> GetOrCheckAsync(string? authorization, string policy, string text, Func<Task<CheckResponse>> check)
    {
        var ttl = options.Value.InputCheckCacheTtl;
        if (ttl <= TimeSpan.Zero)
        {
            return await check().ConfigureAwait(false);
        }

        var key = Key(authorization, policy, text);
        if (_cache.TryGetValue(key, out CheckResponse? cached) && cached is not null)
        {
            return cached;
        }

        var response = await check().ConfigureAwait(false);
        _cache.Set(key, response, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = ttl });
        return response;
    }

    /// <inheritdoc/>
    public void Dispose() => _cache.Dispose();

    private static string Key(string? authorization, string policy, string text) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{authorization}\n{policy}\n{text}")));
}
