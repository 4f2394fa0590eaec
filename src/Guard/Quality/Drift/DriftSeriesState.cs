namespace Mesh.Guard.Quality.Drift;

/// <summary>
/// The windows of one (model, tenant) series: the reference (the first <see cref="DriftOptions.ReferenceSize"/>
/// exchanges after start) and the current window (the last <see cref="DriftOptions.WindowSize"/>),
/// compared every <see cref="DriftOptions.EvaluateEvery"/> exchanges once both are full. Memory is
/// bounded: (ReferenceSize + WindowSize) samples of two 384-float vectors each. Thread-safe.
/// </summary>
public sealed class DriftSeriesState(string model, string tenant, DriftOptions options)
{
    private readonly object _gate = new();
    private readonly List<DriftSample> _reference = new(options.ReferenceSize);
    private readonly Queue<DriftSample> _current = new(options.WindowSize);
    private long _sinceEvaluation;
    private readonly Dictionary<string, int> _overInARow = new(StringComparer.Ordinal);

    /// <summary>The series' model.</summary>
    public string Model { get; } = model;

    /// <summary>The series' tenant.</summary>
    public string Tenant { get; } = tenant;

    /// <summary>Exchanges recorded.</summary>
    public long Observed { get; private set; }

    /// <summary>Whether the reference window is full.</summary>
    public bool ReferenceReady { get; private set; }

    /// <summary>The latest comparison; null before the first.</summary>
    public DriftEvaluation? Last { get; private set; }

    /// <summary>
    /// Adds one exchange; when a comparison is due, makes it (outside the lock: a comparison costs
    /// milliseconds and exchanges keep arriving) and returns it, else null.
    /// </summary>
    public DriftEvaluation? Record(DriftSample sample)
    {
        DriftSample[] reference, current;
        long at;
        lock (_gate)
        {
            Observed++;
            if (_reference.Count < options.ReferenceSize)
            {
                _reference.Add(sample);
                ReferenceReady = _reference.Count == options.ReferenceSize;
                return null;
            }

            if (_current.Count == options.WindowSize)
            {
                _current.Dequeue();
            }

            _current.Enqueue(sample);
            _sinceEvaluation++;
            if (_current.Count < options.WindowSize || _sinceEvaluation < options.EvaluateEvery)
            {
                return null;
            }

            _sinceEvaluation = 0;
            reference = [.. _reference];
            current = [.. _current];
            at = Observed;
        }

        // Seeded by position, so the same stream always gives the same report.
        var evaluation = DriftEvaluator.Compare(reference, current, options, new Random(HashCode.Combine(options.Seed, at)), at);
        lock (_gate)
        {
            if (Last is not null && Last.EvaluatedAt >= at)
            {
                return null; // A later comparison finished first (concurrent records): this one is stale.
            }

            // Only signals over their threshold ConsecutiveComparisons times in a row alert.
            foreach (var signal in _overInARow.Keys.Except(evaluation.OverThreshold).ToList())
            {
                _overInARow.Remove(signal);
            }

            foreach (var signal in evaluation.OverThreshold)
            {
                _overInARow[signal] = _overInARow.GetValueOrDefault(signal) + 1;
            }

            evaluation = evaluation with
            {
                Alerts = [.. evaluation.OverThreshold.Where(s => _overInARow[s] >= Math.Max(1, options.ConsecutiveComparisons))],
            };
            Last = evaluation;
        }

        return evaluation;
    }
}
