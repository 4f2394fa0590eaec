using Mesh.Gateway.RateLimiting;

namespace Mesh.Gateway.Tests.Units;

/// <summary>The tokens-per-minute budget: admits while unspent, accepts overshoot, resets each minute.</summary>
public sealed class TokenBudgetTests
{
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void A_call_is_admitted_until_the_budget_is_spent_then_told_when_the_window_reopens()
    {
        var time = new ManualTime();
        var budget = new TokenBudget(100, time);

        Assert.True(budget.TryAdmit(out _));
        budget.Charge(99);
        Assert.True(budget.TryAdmit(out _));
        budget.Charge(30); // the last admitted call overshoots: it is charged in full
        Assert.Equal(129, budget.Used);

        time.Now += TimeSpan.FromSeconds(20);
        Assert.False(budget.TryAdmit(out var retryAfter));
        Assert.Equal(TimeSpan.FromSeconds(40), retryAfter);

        time.Now += TimeSpan.FromSeconds(40);
        Assert.True(budget.TryAdmit(out _));
        Assert.Equal(0, budget.Used);
    }
}
