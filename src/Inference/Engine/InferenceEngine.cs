using System.Diagnostics;
using Mesh.Inference.Backends;
using Mesh.Inference.Models;
using Mesh.Inference.Sampling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Inference.Engine;

/// <summary>
/// Iteration-level continuous batching over one backend. A single scheduler thread owns the backend
/// and the KV block pool; every step it (1) drops cancelled requests and admits waiting ones by
/// priority, (2) packs the decode token of every running sequence and chunks of pending prompts
/// into one batch under the token budget, taking KV blocks as positions need them and preempting the
/// lowest-priority sequence when the pool runs dry, (3) runs the batch, and (4) samples, streams and
/// retires. Requests join and leave between any two steps.
/// </summary>
public sealed class InferenceEngine : IDisposable
{
    private readonly LlamaModel _model;
    private readonly IInferenceBackend _backend;
    private readonly EngineOptions _options;
    private readonly ILogger _logger;
    private readonly KvBlockAllocator _blocks;
    private readonly InferenceMetrics _metrics;
    private readonly object _gate = new();
    private readonly List<Sequence> _incoming = [];
    private readonly Queue<Action> _jobs = new();
    private readonly List<Sequence> _waiting = [];
    private readonly List<Sequence> _running = [];
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private readonly ForwardBatch _batch = new();
    private readonly List<(Sequence Sequence, int Added, bool Logits)> _scheduled = [];
    private float[] _logits = [];
    private long _arrivals;
    private volatile bool _stopping;
    private long _steps;
    private long _promptTokensComputed;
    private long _prefixHitTokens;
    private long _preemptions;
    private long _maxBatchTokens;

    public InferenceEngine(LlamaModel model, IInferenceBackend backend, EngineOptions options, ILogger? logger = null)
    {
        _model = model;
        _backend = backend;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _blocks = new KvBlockAllocator(backend.KvGeometry.BlockCount, backend.KvGeometry.BlockSize, options.EnablePrefixCaching);
        _metrics = new InferenceMetrics(model.Id, () =>
        {
            var s = Statistics;
            return (s.Running, s.Waiting, s.UsedBlocks, s.AvailableBlocks);
        });
        _thread = new Thread(Run) { IsBackground = true, Name = $"mesh-scheduler-{model.Id}" };
        _thread.Start();
    }

    public LlamaModel Model => _model;

    public IInferenceBackend Backend => _backend;

    public EngineStatistics Statistics
    {
        get
        {
            lock (_gate)
            {
                return new EngineStatistics(
                    _running.Count,
                    _waiting.Count + _incoming.Count,
                    _blocks.UsedBlocks,
                    _blocks.AvailableBlocks,
                    _blocks.BlockCount,
                    Interlocked.Read(ref _steps),
                    Interlocked.Read(ref _promptTokensComputed),
                    Interlocked.Read(ref _prefixHitTokens),
                    Interlocked.Read(ref _preemptions),
                    Interlocked.Read(ref _maxBatchTokens));
            }
        }
    }

    /// <summary>
    /// Queues a request; its output streams through the returned reader, ending with a chunk that
    /// carries the finish reason. Cancelling <paramref name="cancellation"/> ends it within a step.
    /// </summary>
    /// <exception cref="EngineOverloadedException">The waiting queue is full, or the request can never fit the KV cache.</exception>
    public System.Threading.Channels.ChannelReader<GenerationChunk> Submit(GenerationRequest request, CancellationToken cancellation)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        var needed = BlocksFor(request.PromptTokens.Length + request.MaxTokens);
        if (needed > _blocks.BlockCount)
        {
            throw new EngineOverloadedException($"the request needs {needed} KV blocks but the cache has {_blocks.BlockCount}; shorten the prompt or max_tokens", TimeSpan.Zero);
        }

        var sampler = new Sampler(request.Sampling, _model.Config.VocabSize);
        var detokenizer = _model.Tokenizer.CreateStreamingDetokenizer(request.PromptTokens);
        Sequence sequence;
        lock (_gate)
        {
            if (_waiting.Count + _incoming.Count >= _options.MaxWaitingRequests)
            {
                throw new EngineOverloadedException($"{_options.MaxWaitingRequests} requests are already waiting", TimeSpan.FromMilliseconds(500));
            }

            sequence = new Sequence(request, _arrivals++, sampler, detokenizer, cancellation);
            _incoming.Add(sequence);
        }

        _wake.Release();
        return sequence.Output;
    }

    /// <summary>
    /// log P(tokens[i + 1] | tokens[0..i]) for every i, computed on the scheduler thread between steps
    /// with KV blocks of its own (returned when done).
    /// </summary>
    public Task<float[]> ScoreAsync(int[] tokens, CancellationToken cancellation)
    {
        var done = new TaskCompletionSource<float[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _jobs.Enqueue(() =>
            {
                try
                {
                    cancellation.ThrowIfCancellationRequested();
                    done.SetResult(Score(tokens, cancellation));
                }
                catch (Exception e)
                {
                    done.TrySetException(e);
                }
            });
        }

        _wake.Release();
        return done.Task;
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Release();
        _thread.Join();
        _metrics.Dispose();
        _wake.Dispose();
    }

    private int BlocksFor(int tokens) => (tokens + _blocks.BlockSize - 1) / _blocks.BlockSize;

    private void Run()
    {
        while (!_stopping)
        {
            try
            {
                Action[] jobs;
                lock (_gate)
                {
                    foreach (var s in _incoming)
                    {
                        InsertWaiting(s);
                    }

                    _incoming.Clear();
                    jobs = [.. _jobs];
                    _jobs.Clear();
                }

                foreach (var job in jobs)
                {
                    job();
                }

                RetireCancelled();
                Admit();
                if (_running.Count == 0)
                {
                    _wake.Wait(TimeSpan.FromMilliseconds(100));
                    continue;
                }

                Step();
            }
            catch (Exception e)
            {
                // A failed step must not take the service down: fail the sequences it carried.
                _logger.LogError(e, "Scheduler step failed; failing {Count} running requests", _running.Count);
                foreach (var s in _running.ToArray())
                {
                    Finish(s, FinishReason.Cancelled, e);
                }
            }
        }

        lock (_gate)
        {
            foreach (var s in _incoming.Concat(_waiting).Concat(_running))
            {
                s.Complete(new ObjectDisposedException(nameof(InferenceEngine)));
            }
        }
    }

    private void InsertWaiting(Sequence s)
    {
        var i = _waiting.FindIndex(w => (w.Request.Priority, w.ArrivalOrder).CompareTo((s.Request.Priority, s.ArrivalOrder)) > 0);
        _waiting.Insert(i < 0 ? _waiting.Count : i, s);
    }

    private void RetireCancelled()
    {
        foreach (var s in _running.Where(s => s.Cancellation.IsCancellationRequested).ToArray())
        {
            Finish(s, FinishReason.Cancelled);
        }

        lock (_gate)
        {
            foreach (var s in _waiting.Where(s => s.Cancellation.IsCancellationRequested).ToArray())
            {
                _waiting.Remove(s);
                Finish(s, FinishReason.Cancelled);
            }
        }
    }

    private void Admit()
    {
        lock (_gate)
        {
            while (_waiting.Count > 0 && _running.Count < _options.MaxRunningSequences)
            {
                var s = _waiting[0];
                // Admit only what can get its next chunk's blocks; keep one block of headroom per runner.
                if (BlocksFor(Math.Min(s.Tokens.Count + 1, _options.MaxBatchedTokens)) + _running.Count > _blocks.AvailableBlocks)
                {
                    break;
                }

                _waiting.RemoveAt(0);
                ReusePrefix(s);
                _running.Add(s);
            }
        }
    }

    /// <summary>Takes cached blocks for the longest cached prefix of whole blocks, leaving ≥ 1 token to compute.</summary>
    private void ReusePrefix(Sequence s)
    {
        var size = _blocks.BlockSize;
        var reusable = (s.Tokens.Count - 1) / size;
        var tokens = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(s.Tokens);
        var parent = 0UL;
        var hits = 0;
        for (var b = 0; b < reusable && _blocks.PrefixCachingEnabled; b++)
        {
            var hash = KvBlockAllocator.HashBlock(parent, tokens.Slice(b * size, size));
            if (!_blocks.TryReuse(hash, out var block))
            {
                break;
            }

            s.Blocks.Add(block);
            s.BlockHashes.Add(hash);
            parent = hash;
            hits++;
        }

        s.Computed = hits * size;
        if (!s.EverAdmitted)
        {
            s.EverAdmitted = true;
            s.CachedPromptTokens = Math.Min(s.Computed, s.PromptLength);
            Interlocked.Add(ref _prefixHitTokens, s.CachedPromptTokens);
            _metrics.PrefixCacheQueries.Add(s.PromptLength);
            _metrics.PrefixCacheHits.Add(s.CachedPromptTokens);
            _metrics.PromptTokens.Add(s.PromptLength);
        }
    }

    private void Step()
    {
        _batch.Clear();
        _scheduled.Clear();
        var budget = _options.MaxBatchedTokens;
        // Decodes first (they are latency-bound and cheap), then prompt chunks, each in priority order.
        var order = _running.OrderBy(s => s.Pending > 1).ThenBy(s => s.Request.Priority).ThenBy(s => s.ArrivalOrder).ToList();
        foreach (var s in order)
        {
            if (budget == 0)
            {
                break;
            }

            if (!_running.Contains(s))
            {
                continue; // preempted while making room for an earlier one
            }

            var add = Math.Min(s.Pending, budget);
            if (!EnsureBlocks(s, s.Computed + add))
            {
                continue;
            }

            var wantsLogits = s.Computed + add == s.Tokens.Count;
            var seq = _batch.AddSequence([.. s.Blocks]);
            for (var p = s.Computed; p < s.Computed + add; p++)
            {
                _batch.AddToken(seq, s.Tokens[p], p, wantsLogits && p == s.Tokens.Count - 1);
            }

            _scheduled.Add((s, add, wantsLogits));
            budget -= add;
        }

        if (_batch.Count == 0)
        {
            return;
        }

        var vocab = _model.Config.VocabSize;
        if (_logits.Length < _batch.LogitCount * vocab)
        {
            _logits = new float[_batch.LogitCount * vocab];
        }

        _backend.Forward(_batch, _logits);
        Interlocked.Increment(ref _steps);
        if (_batch.Count > Interlocked.Read(ref _maxBatchTokens))
        {
            Interlocked.Exchange(ref _maxBatchTokens, _batch.Count);
        }

        var row = 0;
        foreach (var (s, added, logits) in _scheduled)
        {
            if (s.Computed < s.PromptLength)
            {
                Interlocked.Add(ref _promptTokensComputed, Math.Min(added, s.PromptLength - s.Computed));
            }

            s.Computed += added;
            RegisterFullBlocks(s);
            if (logits)
            {
                Accept(s, _logits.AsSpan(row * vocab, vocab));
                row++;
            }
        }
    }

    /// <summary>Gives <paramref name="s"/> blocks up to <paramref name="tokens"/> positions, preempting others if needed.</summary>
    private bool EnsureBlocks(Sequence s, int tokens)
    {
        while (s.Blocks.Count < BlocksFor(tokens))
        {
            if (_blocks.TryAllocate(out var block))
            {
                s.Blocks.Add(block);
                continue;
            }

            // Out of blocks: preempt the lowest-priority, latest-arrived other sequence not yet in this step.
            var victim = _running
                .Where(r => r != s && !_scheduled.Any(x => x.Sequence == r))
                .OrderByDescending(r => r.Request.Priority).ThenByDescending(r => r.ArrivalOrder)
                .FirstOrDefault();
            Preempt(victim ?? s);
            if (victim is null)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Recompute preemption: frees the sequence's blocks; it waits and later recomputes its tokens.</summary>
    private void Preempt(Sequence s)
    {
        _blocks.Release(s.Blocks);
        s.Blocks.Clear();
        s.BlockHashes.Clear();
        s.Computed = 0;
        _running.Remove(s);
        lock (_gate)
        {
            InsertWaiting(s);
        }

        Interlocked.Increment(ref _preemptions);
        _metrics.Preemptions.Add(1);
        _logger.LogDebug("Preempted request {RequestId} at {Tokens} tokens", s.Request.RequestId, s.Tokens.Count);
    }

    private void RegisterFullBlocks(Sequence s)
    {
        if (!_blocks.PrefixCachingEnabled)
        {
            return;
        }

        var size = _blocks.BlockSize;
        var tokens = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(s.Tokens);
        while (s.BlockHashes.Count < s.Computed / size)
        {
            var b = s.BlockHashes.Count;
            var parent = b == 0 ? 0UL : s.BlockHashes[b - 1];
            var hash = KvBlockAllocator.HashBlock(parent, tokens.Slice(b * size, size));
            _blocks.Register(s.Blocks[b], hash);
            s.BlockHashes.Add(hash);
        }
    }

    /// <summary>Samples the next token from <paramref name="logits"/>, streams it, and retires the sequence if it is done.</summary>
    private void Accept(Sequence s, ReadOnlySpan<float> logits)
    {
        var request = s.Request;
        var token = s.Sampler.Sample(logits, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(s.Tokens), (ulong)s.OutputLength);
        var now = Stopwatch.GetTimestamp();
        if (s.OutputLength == 0)
        {
            s.FirstTokenTimestamp = now;
            _metrics.TimeToFirstToken.Record(Stopwatch.GetElapsedTime(s.ArrivalTimestamp, now).TotalSeconds);
        }

        _metrics.GenerationTokens.Add(1);
        if (token == _model.Tokenizer.EosId && !request.IgnoreEos)
        {
            Finish(s, FinishReason.Eos);
            return;
        }

        IReadOnlyList<TokenLogprob>? logprobs = request.TopLogprobs > 0 ? [LogProbabilities.For(logits, token, request.TopLogprobs)] : null;
        s.Tokens.Add(token);
        var text = s.StopMatcher.Append(s.Detokenizer.Append(token));
        if (s.StopMatcher.Stopped)
        {
            s.Emit(new GenerationChunk(text, [token], logprobs));
            Finish(s, FinishReason.Stop);
            return;
        }

        s.Emit(new GenerationChunk(text, [token], logprobs));
        if (s.OutputLength >= request.MaxTokens || s.Tokens.Count >= _model.Config.ContextLength)
        {
            Finish(s, FinishReason.Length);
        }
    }

    private void Finish(Sequence s, FinishReason reason, Exception? error = null)
    {
        _blocks.Release(s.Blocks);
        s.Blocks.Clear();
        _running.Remove(s);
        if (error is not null)
        {
            s.Complete(error);
            return;
        }

        var tail = reason == FinishReason.Stop ? "" : s.StopMatcher.Append(s.Detokenizer.Flush()) + s.StopMatcher.Flush();
        var end = Stopwatch.GetTimestamp();
        var total = Stopwatch.GetElapsedTime(s.ArrivalTimestamp, end);
        var ttft = s.FirstTokenTimestamp == 0 ? total : Stopwatch.GetElapsedTime(s.ArrivalTimestamp, s.FirstTokenTimestamp);
        _metrics.RequestDuration.Record(total.TotalSeconds);
        if (s.OutputLength > 1)
        {
            _metrics.TimePerOutputToken.Record((total - ttft).TotalSeconds / (s.OutputLength - 1));
        }

        var usage = new GenerationUsage(s.PromptLength, s.OutputLength, s.CachedPromptTokens, ttft.TotalMilliseconds, total.TotalMilliseconds);
        s.Emit(new GenerationChunk(tail, [], null, reason, usage));
        s.Complete();
    }

    private float[] Score(int[] tokens, CancellationToken cancellation)
    {
        var vocab = _model.Config.VocabSize;
        var result = new float[Math.Max(0, tokens.Length - 1)];
        var blocks = new List<int>();
        try
        {
            for (var b = 0; b < BlocksFor(tokens.Length); b++)
            {
                if (!_blocks.TryAllocate(out var block))
                {
                    throw new EngineOverloadedException("the KV cache is busy; retry the Score request", TimeSpan.FromMilliseconds(200));
                }

                blocks.Add(block);
            }

            var table = blocks.ToArray();
            var chunk = Math.Max(1, _options.MaxBatchedTokens);
            var logits = new float[chunk * vocab];
            for (var start = 0; start < tokens.Length - 1; start += chunk)
            {
                cancellation.ThrowIfCancellationRequested();
                var count = Math.Min(chunk, tokens.Length - 1 - start);
                _batch.Clear();
                var seq = _batch.AddSequence(table);
                for (var i = start; i < start + count; i++)
                {
                    _batch.AddToken(seq, tokens[i], i, wantLogits: true);
                }

                _backend.Forward(_batch, logits);
                for (var i = 0; i < count; i++)
                {
                    result[start + i] = LogProbabilities.Of(logits.AsSpan(i * vocab, vocab), tokens[start + i + 1]);
                }
            }

            return result;
        }
        finally
        {
            _blocks.Release(blocks);
        }
    }
}
