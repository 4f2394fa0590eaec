using System.Collections.Concurrent;
using Mesh.Inference.Engine;
using Mesh.Inference.Sampling;
using Mesh.Inference.Tests.Tokenization;
using Microsoft.Extensions.Logging;

namespace Mesh.Inference.Tests.Engine;

/// <summary>
/// The output side of the engine on a real model: one structured log line per finished request,
/// stop strings ending a request from the output processor, and top logprobs by partial selection.
/// </summary>
public sealed class OutputProcessorTests
{
    [Fact]
    public async Task EveryFinishedRequestWritesOneStructuredLogLine()
    {
        var log = new CapturingLogger();
        using var harness = new EngineHarness(TestModels.Stories260KGguf, logger: log);
        var prompt = harness.Model.Tokenizer.Encode("Once upon a time", addBos: true);
        var done = await harness.RunAsync(EngineHarness.Greedy(prompt, 7) with { RequestId = "req-length" });
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await harness.RunAsync(EngineHarness.Greedy(prompt, 7) with { RequestId = "req-cancelled" }, cts.Token);
        harness.Engine.Dispose(); // drains the output processor

        var lines = log.Entries.Where(e => e.EventId.Id == 1 && e.Level == LogLevel.Information).ToList();
        Assert.Equal(2, lines.Count);
        var finished = lines.Single(l => (string)l.State["RequestId"]! == "req-length");
        Assert.Equal(harness.Model.Id, finished.State["Model"]);
        Assert.Equal("length", finished.State["FinishReason"]);
        Assert.Equal(prompt.Length, finished.State["PromptTokens"]);
        Assert.Equal(7, finished.State["CompletionTokens"]);
        Assert.Equal(done.Last.Usage!.TimeToFirstTokenMs, (double)finished.State["TimeToFirstTokenMs"]!);
        Assert.Equal(done.Last.Usage.TotalTimeMs, (double)finished.State["DurationMs"]!);
        var cancelled = lines.Single(l => (string)l.State["RequestId"]! == "req-cancelled");
        Assert.Equal("cancelled", cancelled.State["FinishReason"]);
    }

    [Fact]
    public async Task AStopStringEndsTheRequestAndReturnsItsBlocks()
    {
        using var harness = new EngineHarness(TestModels.Stories260KGguf);
        var prompt = harness.Model.Tokenizer.Encode("Once upon a time", addBos: true);
        var plain = await harness.RunAsync(EngineHarness.Greedy(prompt, 40));
        var stopped = await harness.RunAsync(EngineHarness.Greedy(prompt, 40) with { Stop = ["Lily"] });

        Assert.Equal(FinishReason.Stop, stopped.Last.Finish);
        Assert.Equal(plain.Text[..plain.Text.IndexOf("Lily", StringComparison.Ordinal)], stopped.Text);
        Assert.Equal(stopped.Tokens.Count, stopped.Last.Usage!.CompletionTokens);
        Assert.Equal(plain.Tokens[..stopped.Tokens.Count], stopped.Tokens);
        // The scheduler drops the aborted sequence at its next step (bounded wait: the machine may be loaded).
        for (var i = 0; i < 500 && harness.Engine.Statistics.UsedBlocks > 0; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(0, harness.Engine.Statistics.UsedBlocks);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(20)]
    public void TopLogprobsAreTheMostLikelyTokensInOrder(int top)
    {
        var random = new Random(top);
        var logits = new float[512];
        for (var i = 0; i < logits.Length; i++)
        {
            logits[i] = MathF.Round((float)(random.NextDouble() * 8), 1); // rounding makes ties
        }

        var result = LogProbabilities.For(logits, 3, top);

        var expected = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(top).ToList();
        Assert.Equal(expected, result.Top.Select(t => t.TokenId));
        Assert.All(result.Top, t => Assert.Equal(LogProbabilities.Of(logits, t.TokenId), t.Logprob, 5));
        Assert.Equal(LogProbabilities.Of(logits, 3), result.Logprob, 5);
    }

    private sealed class CapturingLogger : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, EventId EventId, Dictionary<string, object?> State)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var fields = state as IEnumerable<KeyValuePair<string, object?>> ?? [];
            Entries.Enqueue((logLevel, eventId, fields.ToDictionary(kv => kv.Key, kv => kv.Value)));
        }
    }
}
