using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// Splits the backend's work over its threads. Work is cut into more chunks than threads so that a
/// core slowed by other load does not hold the step back, and each chunk's result is computed the
/// same way whichever thread runs it (thread count never changes the numbers). Regions run on the
/// backend's own <see cref="CpuWorkerTeam"/>, or on the .NET thread pool (<see cref="CpuParallelism.ThreadPool"/>,
/// the A/B baseline).
/// </summary>
internal sealed class CpuParallel(int threads, int scratchLength, CpuParallelism parallelism = CpuParallelism.WorkerTeam) : IDisposable
{
    private const int ChunksPerThread = 4;

    // Below this many multiply-adds a parallel region costs more in wake-ups than it saves.
    private const long MinParallelWork = 1 << 16;

    [ThreadStatic]
    private static float[]? t_scratch;

    // Raised by MatMul to what its widest product's kernels need (a tile kernel's four-row panel).
    private int _scratchLength = scratchLength;

    private readonly ParallelOptions _options = new() { MaxDegreeOfParallelism = threads };
    private readonly CpuWorkerTeam? _team = parallelism == CpuParallelism.WorkerTeam ? new CpuWorkerTeam(threads) : null;

    public int Threads { get; } = threads;

    /// <summary>
    /// Runs <paramref name="body"/>(item, scratch) for every item in [0, count); <paramref name="work"/>
    /// estimates the multiply-adds, so that small steps (tiny models, short contexts) stay on one thread.
    /// </summary>
    public void For(int count, long work, ScratchAction body)
    {
        if (Threads == 1 || count == 1 || work < MinParallelWork)
        {
            var scratch = Scratch();
            for (var i = 0; i < count; i++)
            {
                body(i, scratch);
            }

            return;
        }

        if (_team is not null)
        {
            _team.For(count, i => body(i, Scratch()));
        }
        else
        {
            Parallel.For(0, count, _options, i => body(i, Scratch()));
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/>(row, scratch) for every row in [0, <paramref name="rows"/>), the rows
    /// cut into contiguous chunks by row count alone; for cheap per-row work (norms) where one item per
    /// row would cost more in claims than the row itself. <paramref name="work"/> as in <see cref="For"/>.
    /// </summary>
    public void ForRows(int rows, long work, ScratchAction body) =>
        ForRanges(rows, Math.Min(rows, Threads * ChunksPerThread), work, (start, end, scratch) =>
        {
            for (var row = start; row < end; row++)
            {
                body(row, scratch);
            }
        });

    /// <summary>
    /// Cuts [0, <paramref name="rows"/>) into <paramref name="chunks"/> (at least one) contiguous ranges of
    /// near-equal length and runs <paramref name="body"/>(start, end, scratch) for each; the ranges depend
    /// on the row and chunk counts alone, never on the threads.
    /// </summary>
    private void ForRanges(int rows, int chunks, long work, RangeAction body)
    {
        chunks = Math.Max(1, chunks);
        For(chunks, work, (chunk, scratch) =>
            body((int)((long)rows * chunk / chunks), (int)((long)rows * (chunk + 1) / chunks), scratch));
    }

    /// <summary>Stops the worker team's threads.</summary>
    public void Dispose() => _team?.Dispose();

    /// <summary>
    /// y_k = x · W_kᵀ for each (W_k, y_k), as one parallel region over all their rows (Q, K and V, or
    /// gate and up, share one input and one synchronisation).
    /// </summary>
    public unsafe void MatMul(CpuActivations input, params (WeightMatrix Weights, nint Output)[] products)
    {
        var totalRows = 0;
        foreach (var (w, _) in products)
        {
            if (w.Cols != input.Cols)
            {
                throw new InvalidOperationException($"{w.Name} has {w.Cols} columns, the input {input.Cols}");
            }

            if (BlockQuants.Handles(w.Type))
            {
                input.EnsureQuantized();
            }
            else if (KQuants.Handles(w.Type))
            {
                input.EnsureQuantizedK();
            }

            totalRows += w.Rows;
            _scratchLength = Math.Max(_scratchLength, CpuQuantMatMul.TileScratchFloats(w.Type, w.Cols));
        }

        ForRanges(totalRows, Math.Min(totalRows / 8, Threads * ChunksPerThread), (long)totalRows * input.Cols * input.Rows, (start, end, scratch) =>
        {
            var offset = 0;
            foreach (var (w, output) in products)
            {
                var from = Math.Max(start, offset) - offset;
                var to = Math.Min(end, offset + w.Rows) - offset;
                if (from < to)
                {
                    CpuMatMul.Rows(w, input, (float*)output, w.Rows, from, to, scratch);
                }

                offset += w.Rows;
            }
        });
    }

    private float[] Scratch()
    {
        if (t_scratch is null || t_scratch.Length < _scratchLength)
        {
            t_scratch = new float[_scratchLength];
        }

        return t_scratch;
    }

    public delegate void ScratchAction(int item, Span<float> scratch);

    private delegate void RangeAction(int start, int end, Span<float> scratch);
}
