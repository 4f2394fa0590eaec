using System.Threading.RateLimiting;
using Mesh.Gateway.Authentication;

namespace Mesh.Gateway.RateLimiting;

/// <summary>The three limits of one API key, shared by every call made with it.</summary>
public sealed class KeyLimits : IDisposable
{
    /// <summary>Creates the limiters for one key's configured limits.</summary>
    public KeyLimits(ApiKeyOptions options, TimeProvider time)
    {
        // Refilled once a second with a second's worth: bursts of up to RequestsPerSecond are allowed.
        Requests = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = options.RequestsPerSecond,
            TokensPerPeriod = options.RequestsPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
        Streams = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.MaxConcurrentStreams,
            QueueLimit = 0,
        });
        Tokens = new TokenBudget(options.TokensPerMinute, time);
    }

    /// <summary>Calls per second.</summary>
    public RateLimiter Requests { get; }

    /// <summary>Calls open at once; a lease is held for the whole call, streaming included.</summary>
    public RateLimiter Streams { get; }

    /// <summary>Generated tokens per minute.</summary>
    public TokenBudget Tokens { get; }

    /// <inheritdoc/>
    public void Dispose()
    {
        Requests.Dispose();
        Streams.Dispose();
    }
}
