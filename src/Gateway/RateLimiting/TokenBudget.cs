namespace Mesh.Gateway.RateLimiting;

/// <summary>
/// Generated tokens per minute for one key, in fixed one-minute windows (the unit Envoy's rate limit
/// service uses for Envoy AI Gateway's token limits). Written here rather than taken from
/// System.Threading.RateLimiting because a call's cost is known only after the model produced it:
/// the budget must accept a charge larger than what is left (going into debt), which those limiters
/// refuse. A call is admitted while the window's budget is not spent.
/// </summary>
public sealed class TokenBudget(long tokensPerMinute, TimeProvider time)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly Lock _lock = new();
    private DateTimeOffset _windowStart = time.GetUtcNow();
    private long _used;

    /// <summary>The budget per minute, in generated tokens.</summary>
    public long TokensPerMinute { get; } = tokensPerMinute;

    /// <summary>True while the current window has budget left; otherwise says when the next window opens.</summary>
    public bool TryAdmit(out TimeSpan retryAfter)
    {
        lock (_lock)
        {
            var now = Roll();
            retryAfter = _used < TokensPerMinute ? TimeSpan.Zero : _windowStart + Window - now;
            return _used < TokensPerMinute;
        }
    }

    /// <summary>Records tokens a call generated.</summary>
    public void Charge(long tokens)
    {
        if (tokens <= 0)
        {
            return;
        }

        lock (_lock)
        {
            Roll();
            _used += tokens;
        }
    }

    /// <summary>Tokens charged in the current window.</summary>
    public long Used
    {
        get
        {
            lock (_lock)
            {
                Roll();
                return _used;
            }
        }
    }

    private DateTimeOffset Roll()
    {
        var now = time.GetUtcNow();
        if (now - _windowStart >= Window)
        {
            var elapsedWindows = (now - _windowStart).Ticks / Window.Ticks;
            _windowStart += TimeSpan.FromTicks(elapsedWindows * Window.Ticks);
            _used = 0;
        }

        return now;
    }
}
