using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Mesh.Inference.Engine;

/// <summary>
/// Turns the engine's per-step events into each request's stream, off the scheduler's thread, as
/// vLLM v1's <c>OutputProcessor</c>: incremental detokenization, stop strings (a match ends the
/// request here and aborts its sequence in the scheduler), logprobs, the final chunk with usage, the
/// latency metrics, and one log line per finished request. Events of one request arrive in order,
/// because the engine thread is the only writer of a FIFO queue that one worker drains.
/// </summary>
internal sealed partial class OutputProcessor : IDisposable
{
    private readonly Channel<List<EngineCoreOutput>> _queue = Channel.CreateUnbounded<List<EngineCoreOutput>>(new() { SingleReader = true, SingleWriter = true });
    private readonly string _model;
    private readonly InferenceMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Task _worker;

    public OutputProcessor(string model, InferenceMetrics metrics, ILogger logger)
    {
        _model = model;
        _metrics = metrics;
        _logger = logger;
        _worker = Task.Run(RunAsync);
    }

    /// <summary>Queues one step's events; called by the engine thread only.</summary>
    public void Enqueue(List<EngineCoreOutput> outputs)
    {
        if (outputs.Count > 0)
        {
            _queue.Writer.TryWrite(outputs);
        }
    }

    /// <summary>Processes what is queued, then stops.</summary>
    public void Dispose()
    {
        _queue.Writer.TryComplete();
        _worker.GetAwaiter().GetResult();
    }

    private async Task RunAsync()
    {
        await foreach (var outputs in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            foreach (var output in outputs)
            {
                try
                {
                    Process(output);
                }
                catch (Exception e)
                {
                    // One request's failure (a detokenizer fault) ends that request, not the others.
                    LogFailed(_logger, e, output.Request.Request.RequestId);
                    output.Request.Sequence?.Abort();
                    output.Request.Complete(e);
                }
            }
        }
    }

    private void Process(EngineCoreOutput o)
    {
        var r = o.Request;
        if (r.Finished)
        {
            return; // a stop string already ended it; the scheduler had stepped once more
        }

        if (o.Error is not null)
        {
            r.Complete(o.Error);
            LogFinished(_logger, _model, r.Request.RequestId, "error", r.Request.PromptTokens.Length, r.CompletionTokens, o.CachedPromptTokens, 0, Stopwatch.GetElapsedTime(r.ArrivalTimestamp).TotalMilliseconds);
            return;
        }

        if (o.Sampled)
        {
            if (r.FirstTokenTimestamp == 0)
            {
                r.FirstTokenTimestamp = o.Timestamp;
                _metrics.TimeToFirstToken.Record(Stopwatch.GetElapsedTime(r.ArrivalTimestamp, o.Timestamp).TotalSeconds);
            }

            _metrics.GenerationTokens.Add(1);
        }

        if (o.Token >= 0)
        {
            r.CompletionTokens++;
            var text = r.StopMatcher.Append(r.Detokenizer.Append(o.Token));
            r.Emit(new GenerationChunk(text, [o.Token], o.Logprobs is { } lp ? [lp] : null));
            if (r.StopMatcher.Stopped)
            {
                r.Sequence?.Abort();
                Finish(r, FinishReason.Stop, o.CachedPromptTokens);
                return;
            }
        }

        if (o.Finish is { } reason)
        {
            Finish(r, reason, o.CachedPromptTokens);
        }
    }

    private void Finish(RequestState r, FinishReason reason, int cachedPromptTokens)
    {
        var tail = reason == FinishReason.Stop ? "" : r.StopMatcher.Append(r.Detokenizer.Flush()) + r.StopMatcher.Flush();
        var total = Stopwatch.GetElapsedTime(r.ArrivalTimestamp);
        var ttft = r.FirstTokenTimestamp == 0 ? total : Stopwatch.GetElapsedTime(r.ArrivalTimestamp, r.FirstTokenTimestamp);
        _metrics.RequestDuration.Record(total.TotalSeconds);
        if (r.CompletionTokens > 1)
        {
            _metrics.TimePerOutputToken.Record((total - ttft).TotalSeconds / (r.CompletionTokens - 1));
        }

        var prompt = r.Request.PromptTokens.Length;
        var usage = new GenerationUsage(prompt, r.CompletionTokens, cachedPromptTokens, ttft.TotalMilliseconds, total.TotalMilliseconds);
        r.Emit(new GenerationChunk(tail, [], null, reason, usage));
        r.Complete();
        LogFinished(_logger, _model, r.Request.RequestId, reason.ToString().ToLowerInvariant(), prompt, r.CompletionTokens, cachedPromptTokens, usage.TimeToFirstTokenMs, usage.TotalTimeMs);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "Request {RequestId} for {Model} finished: {FinishReason}, {PromptTokens} prompt tokens ({CachedPromptTokens} cached), {CompletionTokens} completion tokens, time to first token {TimeToFirstTokenMs:F1} ms, {DurationMs:F1} ms")]
    private static partial void LogFinished(ILogger logger, string model, string requestId, string finishReason, int promptTokens, int completionTokens, int cachedPromptTokens, double timeToFirstTokenMs, double durationMs);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "Request {RequestId} failed in output processing")]
    private static partial void LogFailed(ILogger logger, Exception error, string requestId);
}
