using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;

namespace Mesh.Gateway.Assistant;

/// <summary>
/// A bounded, expiring cache of a pipeline stage's results per caller: entries are keyed by a SHA-256
/// of the caller's <c>authorization</c> and the parts that determine the result, so one key's
/// result (in its tenant, its policy) is never served to another and no text is kept as a key.
/// <see cref="MemoryCache"/> evicts when <paramref name="entries"/> is reached (least recently used
/// first, as it compacts). Thread-safe; concurrent misses of one key may both compute (the last wins).
/// </summary>
/// <typeparam name="T">The cached result.</typeparam>
public sealed class CallerCache<T>(int entries) : IDisposable
{
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = Math.Max(1, entries) });

    /// <summary>
    /// The cached result for (<paramref name="authorization"/>, <paramref name="parts"/>), or that of
    /// <paramref name="compute"/>, kept for <paramref name="ttl"/>; a <paramref name="ttl"/> of zero or
    /// less bypasses the cache.
    /// </summary>
    public async Task<T> GetOrAddAsync(string? authorization, IReadOnlyList<string> parts, TimeSpan ttl, Func<Task<T>> compute)
    {
        if (ttl <= TimeSpan.Zero)
        {
            return await compute().ConfigureAwait(false);
        }

        var key = Key(authorization, parts);
        if (_cache.TryGetValue(key, out T? cached) && cached is not null)
        {
            return cached;
        }

        var value = await compute().ConfigureAwait(false);
        _cache.Set(key, value, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = ttl });
        return value;
    }

    /// <inheritdoc/>
    public void Dispose() => _cache.Dispose();

    /// <summary>Each part is length-prefixed, so no two different part lists hash the same input.</summary>
    private static string Key(string? authorization, IReadOnlyList<string> parts)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Append(hash, authorization ?? "");
        foreach (var part in parts)
        {
            Append(hash, part);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static void Append(IncrementalHash hash, string part)
    {
        var bytes = Encoding.UTF8.GetBytes(part);
        hash.AppendData(BitConverter.GetBytes(bytes.Length));
        hash.AppendData(bytes);
    }
}
