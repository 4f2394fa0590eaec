using System.Diagnostics;
using System.Threading.Channels;
using Mesh.Inference.Backends;
using Mesh.Inference.Models;
using Mesh.Inference.Sampling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Inference.Engine;

/// <summary>
/// Iteration-level continuous batching over one backend (vLLM v1's <c>EngineCore</c> with its
/// front end). One engine thread owns the backend and the KV cache and loops: take new requests and
/// Score jobs, <see cref="Scheduler.Schedule"/> a step, let the <see cref="ModelRunner"/> run and
/// sample it, apply the result with <see cref="Scheduler.UpdateFromOutput"/>, and hand the events to
/// the <see cref="OutputProcessor"/>, which detokenizes and streams on another thread. Requests join
/// and leave between any two steps.
/// </summary>
public sealed class InferenceEngine : IDisposable
{
    private readonly LlamaModel _model;
    private readonly EngineOptions _options;
    private readonly ILogger _logger;
    private readonly Scheduler _scheduler;
    private readonly ModelRunner _runner;
    private readonly OutputProcessor _outputs;
    private readonly InferenceMetrics _metrics;
    private readonly object _gate = new();
    private readonly List<Sequence> _incoming = [];
    private readonly Queue<Action> _jobs = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private long _arrivals;
    private volatile bool _stopping;
    private long _steps;
    private long _maxBatchTokens;
    private int _disposed;
    // What the engine thread last published for readers on other threads (statistics, gauges, admission control).
    private volatile int _running;
    private volatile int _waiting;
    private volatile int _usedBlocks;
    private volatile int _availableBlocks;

    /// <param name="model">The model (tokenizer and configuration).</param>
    /// <param name="backend">The backend holding its weights and KV cache; the engine's thread is its only user.</param>
    /// <param name="options">Scheduler limits.</param>
    /// <param name="logger">Receives one line per finished request and scheduler faults.</param>
    /// <param name="blockHasher">The prefix cache's chain hash (tests force collisions with it); <see cref="KvBlockAllocator.HashBlock"/> when null.</param>
    public InferenceEngine(LlamaModel model, IInferenceBackend backend, EngineOptions options, ILogger? logger = null, BlockHasher? blockHasher = null)
    {
        _model = model;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        var geometry = backend.KvGeometry;
        var kv = new KvCacheManager(new KvBlockAllocator(geometry.BlockCount, geometry.BlockSize, options.EnablePrefixCaching, blockHasher));
        _availableBlocks = kv.AvailableBlocks;
        _metrics = new InferenceMetrics(model.Id, () => (_running, _waiting, _usedBlocks, _availableBlocks));
        _scheduler = new Scheduler(options, kv, model.Config.ContextLength, model.Tokenizer.EosId, _metrics, _logger, model.Tokenizer.EndOfGenerationIds);
        _runner = new ModelRunner(backend, model.Config.VocabSize);
        _outputs = new OutputProcessor(model.Id, _metrics, _logger);
        _thread = new Thread(Run) { IsBackground = true, Name = $"mesh-engine-{model.Id}" };
        _thread.Start();
    }

    /// <summary>The model this engine serves (its tokenizer, hyperparameters and weights).</summary>
    public LlamaModel Model => _model;

    /// <summary>The backend the forward pass runs on (<c>cpu</c> or <c>cuda</c>).</summary>
    public IInferenceBackend Backend => _runner.Backend;

    /// <summary>Counters as of the engine thread's last step; safe from any thread.</summary>
    public EngineStatistics Statistics
    {
        get
        {
            int incoming;
            lock (_gate)
            {
                incoming = _incoming.Count;
            }

            var blocks = _scheduler.Kv.BlockCount;
            return new EngineStatistics(
                _running,
                _waiting + incoming,
                _usedBlocks,
                _availableBlocks,
                blocks,
                Interlocked.Read(ref _steps),
                _scheduler.PromptTokensComputed,
                _scheduler.PrefixHitTokens,
                _scheduler.Preemptions,
                Volatile.Read(ref _maxBatchTokens),
                _scheduler.SpecDecodeDraftTokens,
                _scheduler.SpecDecodeAcceptedTokens);
        }
    }

    /// <summary>
    /// Queues a request; its output streams through the returned reader, ending with a chunk that
    /// carries the finish reason and usage. Cancelling <paramref name="cancellation"/> ends it within a step.
    /// </summary>
    /// <exception cref="EngineOverloadedException">The waiting queue is full: retry after its hint.</exception>
    /// <exception cref="KvCapacityExceededException">The prompt plus max_tokens can never fit the KV cache.</exception>
    /// <exception cref="ObjectDisposedException">The engine is shutting down.</exception>
    /// <exception cref="NotSupportedException">The request names an adapter and the backend cannot apply adapters.</exception>
    public ChannelReader<GenerationChunk> Submit(GenerationRequest request, CancellationToken cancellation)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        RequireAdapterSupport(request.Adapter);
        var kv = _scheduler.Kv;
        var needed = kv.BlocksFor(request.PromptTokens.Length + request.MaxTokens);
        if (needed > kv.BlockCount)
        {
            var fits = Math.Max(0, kv.BlockCount * kv.BlockSize - request.PromptTokens.Length);
            throw new KvCapacityExceededException(
                $"prompt ({request.PromptTokens.Length} tokens) plus max_tokens ({request.MaxTokens}) needs {needed} KV blocks but the cache has {kv.BlockCount} of {kv.BlockSize} tokens; "
                + (fits > 0 ? $"lower max_tokens to at most {fits}" : "shorten the prompt"),
                fits);
        }

        var state = new RequestState(request, _model.Tokenizer.CreateStreamingDetokenizer(request.PromptTokens));
        var sampler = new Sampler(request.Sampling);
        lock (_gate)
        {
            if (_waiting + _incoming.Count >= _options.MaxWaitingRequests)
            {
                throw new EngineOverloadedException($"{_options.MaxWaitingRequests} requests are already waiting", TimeSpan.FromMilliseconds(500));
            }

            state.Sequence = new Sequence(request, _arrivals++, sampler, state, cancellation);
            _incoming.Add(state.Sequence);
        }

        _wake.Release();
        return state.Output;
    }

    /// <summary>
    /// log P(tokens[i + 1] | tokens[0..i]) for every i, computed on the engine thread between steps
    /// with KV blocks of its own (returned when done).
    /// </summary>
    /// <exception cref="EngineOverloadedException">The KV cache has no room for the text now.</exception>
    public Task<float[]> ScoreAsync(int[] tokens, CancellationToken cancellation) => ScoreAsync(tokens, null, cancellation);

    /// <summary>As <see cref="ScoreAsync(int[], CancellationToken)"/>, with the LoRA <paramref name="adapter"/> applied (null: none).</summary>
    /// <exception cref="EngineOverloadedException">The KV cache has no room for the text now.</exception>
    /// <exception cref="NotSupportedException">The backend cannot apply adapters.</exception>
    public Task<float[]> ScoreAsync(int[] tokens, Models.Lora.LoraAdapter? adapter, CancellationToken cancellation)
    {
        RequireAdapterSupport(adapter);
        var done = new TaskCompletionSource<float[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _jobs.Enqueue(() =>
            {
                try
                {
                    cancellation.ThrowIfCancellationRequested();
                    done.SetResult(Score(tokens, adapter, cancellation));
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

    /// <summary>Stops the engine thread, fails what is still queued or running, and drains the output processor. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        _wake.Release();
        _thread.Join();
        _outputs.Dispose();
        _metrics.Dispose();
        _wake.Dispose();
    }

    private void Run()
    {
        while (!_stopping)
        {
            try
            {
                foreach (var job in TakeIncoming())
                {
                    job();
                }

                var scheduled = _scheduler.Schedule();
                if (scheduled.Scheduled.Count == 0)
                {
                    Publish(scheduled.Finished);
                    if (_scheduler.RunningCount == 0)
                    {
                        _wake.Wait(TimeSpan.FromMilliseconds(100));
                    }

                    continue;
                }

                var result = _runner.Execute(scheduled);
                Interlocked.Increment(ref _steps);
                Volatile.Write(ref _maxBatchTokens, _runner.MaxBatchTokens);
                var outputs = _scheduler.UpdateFromOutput(scheduled, result);
                outputs.InsertRange(0, scheduled.Finished);
                Publish(outputs);
            }
            catch (Exception e)
            {
                // A failed step must not take the service down: fail the sequences it carried.
                _logger.LogError(e, "Scheduler step failed; failing {Count} running requests", _scheduler.RunningCount);
                Publish([.. _scheduler.RemoveRunning().Select(s => Failed(s, e))]);
            }
        }

        List<Sequence> left;
        lock (_gate)
        {
            left = [.. _incoming];
            _incoming.Clear();
        }

        left.AddRange(_scheduler.RemoveWaiting());
        left.AddRange(_scheduler.RemoveRunning());
        Publish([.. left.Select(s => Failed(s, new ObjectDisposedException(nameof(InferenceEngine))))]);
    }

    private static EngineCoreOutput Failed(Sequence s, Exception error) =>
        new(s.Output!, -1, false, null, null, s.CachedPromptTokens, Stopwatch.GetTimestamp(), error);

    /// <summary>Moves submitted requests into the scheduler and returns the queued Score jobs.</summary>
    private Action[] TakeIncoming()
    {
        lock (_gate)
        {
            foreach (var s in _incoming)
            {
                _scheduler.AddRequest(s);
            }

            _incoming.Clear();
            // Published inside the lock, so Submit never sees a request in neither count.
            _waiting = _scheduler.WaitingCount;
            Action[] jobs = [.. _jobs];
            _jobs.Clear();
            return jobs;
        }
    }

    /// <summary>
    /// Publishes the counts, then hands the events to the output processor: a caller that has read
    /// its final chunk sees statistics at least as new as its request's end.
    /// </summary>
    private void Publish(List<EngineCoreOutput> outputs)
    {
        var kv = _scheduler.Kv;
        _running = _scheduler.RunningCount;
        _waiting = _scheduler.WaitingCount;
        _usedBlocks = kv.UsedBlocks;
        _availableBlocks = kv.AvailableBlocks;
        _outputs.Enqueue(outputs);
    }

    private void RequireAdapterSupport(Models.Lora.LoraAdapter? adapter)
    {
        if (adapter is not null && !_runner.Backend.SupportsLoraAdapters)
        {
            throw new NotSupportedException($"the {_runner.Backend.Name} backend does not apply LoRA adapters; serve the model with --device cpu");
        }
    }

    private float[] Score(int[] tokens, Models.Lora.LoraAdapter? adapter, CancellationToken cancellation)
    {
        var kv = _scheduler.Kv;
        var blocks = kv.TryAllocateBlocks(kv.BlocksFor(tokens.Length))
            ?? throw new EngineOverloadedException("the KV cache is busy; retry the Score request", TimeSpan.FromMilliseconds(200));
        try
        {
            return _runner.Score(tokens, blocks, _options.MaxBatchedTokens, adapter, cancellation);
        }
        finally
        {
            kv.Pool.Release(blocks);
        }
    }
}
