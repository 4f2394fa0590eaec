using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace Mesh.Guard.Embeddings;

/// <summary>
/// all-MiniLM-L6-v2 sentence embeddings (<see cref="MiniLmModel"/>), unit length, 384 wide.
/// A call's work is cut three ways, none of which changes what a sentence's vector is:
/// identical texts are embedded once; the distinct ones are sorted by token count and cut into
/// batches of at most <see cref="GuardOptions.EmbeddingBatchSize"/> (a batch is padded to its
/// longest member, so neighbours in length waste little); and the batches run on as many cores as
/// are free (<see cref="GuardOptions.EmbeddingParallelism"/> runs at once across all calls: a call
/// takes a helper only when one is idle, so concurrent checks never oversubscribe the machine, and
/// a lone check gets every core). Vectors are shared between equal texts: treat them as read-only.
/// </summary>
public sealed class MiniLmEmbedder : ITextEmbedder, IDisposable
{
    private readonly MiniLmModel _model;
    private readonly int _batchSize;
    private readonly int _parallelism;
    private readonly SemaphoreSlim _idleHelpers;
    private readonly BlockingCollection<Action> _helperWork = new();

    /// <summary>Loads the packaged MiniLM-L6 model with the threads, batch size and parallelism of <paramref name="options"/>.</summary>
    public MiniLmEmbedder(IOptions<GuardOptions> options, ILogger<MiniLmEmbedder> logger)
    {
        var o = options.Value;
        var started = Stopwatch.GetTimestamp();
        // Intra-op threads bound how many cores one ONNX run may take; the parallelism below is
        // how several runs of one call share the idle cores.
        _model = new MiniLmModel(o.EmbeddingThreads);
        _batchSize = Math.Max(1, o.EmbeddingBatchSize);
        _parallelism = Math.Max(1, o.EmbeddingParallelism);
        // Dedicated helper threads, not the thread pool: a queued pool item may wait for the pool
        // to grow, most of all under load, while the calling check blocks on its batches.
        _idleHelpers = new SemaphoreSlim(_parallelism - 1);
        for (var h = 1; h < _parallelism; h++)
        {
            new Thread(Help) { IsBackground = true, Name = $"minilm-helper-{h}" }.Start();
        }
        logger.LogInformation("Loaded MiniLM-L6 sentence encoder in {ElapsedMs} ms with {Threads} intra-op threads, {Parallelism} runs at once",
            (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, o.EmbeddingThreads, _parallelism);
    }

    /// <inheritdoc />
    public int Dimensions => MiniLmModel.Dimensions;

    /// <summary>ONNX Runtime runs made so far (one per batch), for tests and diagnostics.</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>Sentences run through the model so far (distinct texts of each call).</summary>
    public long Sequences => Interlocked.Read(ref _sequences);

    private long _runs;
    private long _sequences;

    /// <inheritdoc />
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled, also mid-run.</exception>
    public float[][] Embed(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
    {
        if (texts.Count == 0)
        {
            return [];
        }
        cancellationToken.ThrowIfCancellationRequested();
        // Identical sentences (a repeated line, a quoted block) are embedded once.
        var distinct = new Dictionary<string, int>(StringComparer.Ordinal);
        var slot = new int[texts.Count];
        var unique = new List<string>();
        for (var i = 0; i < texts.Count; i++)
        {
            if (!distinct.TryGetValue(texts[i], out slot[i]))
            {
                slot[i] = distinct[texts[i]] = unique.Count;
                unique.Add(texts[i]);
            }
        }
        var tokens = unique.Select(_model.Tokenize).ToArray();
        var vectors = new float[unique.Count][];
        var batches = Plan(tokens);
        RunAll(batches, tokens, vectors, cancellationToken);

        var result = new float[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
        {
            result[i] = vectors[slot[i]];
        }
        return result;
    }

    // Sequences sorted by token count, cut into equal runs: at least one batch per core that may
    // help, so that a lone call's batches spread over the cores, and at most _batchSize each.
    private int[][] Plan(int[][] tokens)
    {
        var order = Enumerable.Range(0, tokens.Length).OrderBy(i => tokens[i].Length).ThenBy(i => i).ToArray();
        var count = Math.Max((order.Length + _batchSize - 1) / _batchSize, Math.Min(_parallelism, order.Length));
        count = (count + _parallelism - 1) / _parallelism * _parallelism;
        count = Math.Min(count, order.Length);
        var batches = new int[count][];
        for (var b = 0; b < count; b++)
        {
            var from = b * order.Length / count;
            var to = (b + 1) * order.Length / count;
            batches[b] = order[from..to];
        }
        return batches;
    }

    private void RunAll(int[][] batches, int[][] tokens, float[][] vectors, CancellationToken cancellationToken)
    {
        var next = -1;
        var remaining = batches.Length;
        ExceptionDispatchInfo? error = null;
        var done = new ManualResetEventSlim(false);

        void Work()
        {
            int b;
            while ((b = Interlocked.Increment(ref next)) < batches.Length)
            {
                try
                {
                    if (Volatile.Read(ref error) is null)
                    {
                        RunBatch(batches[b], tokens, vectors, cancellationToken);
                    }
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref error, ExceptionDispatchInfo.Capture(e), null);
                }
                finally
                {
                    if (Interlocked.Decrement(ref remaining) == 0)
                    {
                        done.Set();
                    }
                }
            }
        }

        // Only idle helpers are enlisted, and they claim batches only once they run, so the caller
        // never waits on a helper that has not started: it takes whatever batches are left itself.
        for (var h = 1; h < Math.Min(_parallelism, batches.Length) && _idleHelpers.Wait(0); h++)
        {
            _helperWork.Add(Work);
        }
        Work();
        done.Wait(CancellationToken.None);
        error?.Throw();
    }

    private void Help()
    {
        foreach (var work in _helperWork.GetConsumingEnumerable())
        {
            try
            {
                work();
            }
            finally
            {
                _idleHelpers.Release();
            }
        }
    }

    private void RunBatch(int[] members, int[][] tokens, float[][] vectors, CancellationToken cancellationToken)
    {
        var sequences = new int[members.Length][];
        for (var i = 0; i < members.Length; i++)
        {
            sequences[i] = tokens[members[i]];
        }
        var pooled = new float[members.Length][];
        try
        {
            Interlocked.Increment(ref _runs);
            Interlocked.Add(ref _sequences, members.Length);
            _model.Embed(sequences, pooled, cancellationToken);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            // A cancelled run is stopped with RunOptions.Terminate, which ONNX Runtime reports as
            // an error: it is the caller's cancellation (CANCELLED), not a fault.
            throw new OperationCanceledException(cancellationToken);
        }
        for (var i = 0; i < members.Length; i++)
        {
            vectors[members[i]] = pooled[i];
        }
    }

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose()
    {
        _helperWork.CompleteAdding();
        _model.Dispose();
    }
}
