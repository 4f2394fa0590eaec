using System.Collections.Concurrent;
using Mesh.Gateway.Authentication;

namespace Mesh.Gateway.RateLimiting;

/// <summary>The limits of every key, created on a key's first call. Limits are per gateway replica.</summary>
public sealed class KeyLimitsRegistry(TimeProvider time) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<KeyLimits>> _limits = new(StringComparer.Ordinal);

    /// <summary>The limits of <paramref name="key"/>, created on first use.</summary>
    public KeyLimits For(ApiKey key) =>
        _limits.GetOrAdd(key.Name, _ => new Lazy<KeyLimits>(() => new KeyLimits(key.Options, time))).Value;

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var limits in _limits.Values.Where(l => l.IsValueCreated))
        {
            limits.Value.Dispose();
        }
    }
}
