using Google.Protobuf.WellKnownTypes;
using Mesh.Retrieval.Embedding;
using Mesh.Retrieval.Filtering;
using Mesh.Retrieval.Native;
using Mesh.Retrieval.Storage;
using Mesh.Retrieval.Storage.Records;

namespace Mesh.Retrieval.Collections;

/// <summary>The outcome of an acknowledged write: its log sequence (the operation id) and the points it touched.</summary>
internal readonly record struct WriteResult(ulong OperationId, int Count);

/// <summary>
/// One collection: a <see cref="Segment"/> in memory, and on disk its definition, write-ahead log segments and
/// snapshots (written by its <see cref="SnapshotWorker"/>).
/// <para>
/// Writes are serialised: a write takes the next log sequence, is appended to the log and fsynced, then
/// applied to the segment, and only then acknowledged. Searches take no collection lock: they read immutable
/// <see cref="PointRecord"/>s and the thread-safe index, so they run in parallel with writes and see each
/// point either before or after a write, never between. A write that pushes the log past
/// <c>SnapshotAfterLogBytes</c> captures an image and seals the log segment (a memory copy) and leaves the
/// snapshot's disk work to the worker.
/// </para>
/// </summary>
internal sealed class Collection : IDisposable
{
    public const string DefinitionName = "collection.definition";

    private readonly string _folder;
    private readonly RetrievalOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly SnapshotWorker _snapshots;
    private readonly Segment _segment;
    private WriteAheadLog _log;
    private ulong _lastSequence;
    // The last sequence a snapshot or a sealed log segment already holds: sealing again would add nothing.
    private ulong _sealedThrough;
    private bool _disposed;

    private Collection(string folder, string tenant, CollectionConfig config, RetrievalOptions options, SnapshotHooks hooks, ILogger logger, RecoveredCollection recovered)
    {
        _folder = folder;
        Tenant = tenant;
        Config = config;
        _options = options;
        _logger = logger;
        _segment = recovered.Segment;
        _log = recovered.Log;
        _lastSequence = recovered.LastSequence;
        _sealedThrough = recovered.SealedThrough;
        _snapshots = new SnapshotWorker(folder, hooks, logger, $"{tenant}/{config.Name}");
        _snapshots.Restore(recovered.Snapshot);
    }

    public string Tenant { get; }

    public string Name => Config.Name;

    /// <summary>The definition, defaults filled in.</summary>
    public CollectionConfig Config { get; }

    public int Dimensions => (int)Config.Dimensions;

    public long Count => _segment.Ids.Count;

    /// <summary>The in-memory parts (id tracker, payload index, vector index, planner).</summary>
    internal Segment Segment => _segment;

    /// <summary>The collection's HNSW index itself: the benchmark queries it directly as "USearch alone".</summary>
    internal UsearchIndex Index => _segment.Vectors.Native;

    /// <summary>Bytes of the collection's files.</summary>
    public long DiskSizeBytes => new DirectoryInfo(_folder).EnumerateFiles().Sum(f => f.Length);

    /// <summary>Creates the folder and definition of a new collection and opens it.</summary>
    public static Collection Create(string folder, string tenant, CollectionConfig config, RetrievalOptions options, SnapshotHooks hooks, ILogger logger)
    {
        Directory.CreateDirectory(folder);
        CollectionDefinitionFile.Write(Path.Combine(folder, DefinitionName), tenant, config);
        return Open(folder, tenant, config, options, hooks, logger);
    }

    /// <summary>
    /// Opens a collection folder (see <see cref="CollectionRecovery"/>); an unrestorable one is
    /// <see cref="InvalidDataException"/> naming the damaged file.
    /// </summary>
    public static Collection Open(string folder, RetrievalOptions options, IReadOnlyDictionary<string, ITextEmbedder> embedders, SnapshotHooks hooks, ILogger logger)
    {
        var (tenant, draft) = CollectionDefinitionFile.Read(Path.Combine(folder, DefinitionName))
            ?? throw new InvalidDataException($"{folder} holds no {DefinitionName}.");
        CollectionConfig config;
        try
        {
            // The definition is read back as untrusted as a request: its sizes drive native allocations.
            config = CollectionConfig.Normalize(draft, embedders);
        }
        catch (RetrievalException exception)
        {
            throw new InvalidDataException($"{Path.Combine(folder, DefinitionName)} is damaged: {exception.Message}");
        }
        return Open(folder, tenant, config, options, hooks, logger);
    }

    private static Collection Open(string folder, string tenant, CollectionConfig config, RetrievalOptions options, SnapshotHooks hooks, ILogger logger)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var concurrency = options.IndexConcurrency > 0 ? options.IndexConcurrency : Math.Max(4, Environment.ProcessorCount * 2);
        var recovered = CollectionRecovery.Recover(folder, config, options, concurrency);
        var collection = new Collection(folder, tenant, config, options, hooks, logger, recovered);
        if (recovered.Damage is not null)
        {
            logger.LogWarning("Collection {Tenant}/{Collection} restored from {Snapshot} and the log: {Damage}; writing a fresh snapshot",
                tenant, config.Name, recovered.Snapshot?.PointsFile ?? "the log alone", recovered.Damage);
            collection.SnapshotAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        logger.LogInformation(
            "Opened collection {Tenant}/{Collection}: {Points} points, snapshot at {Snapshot}, {Replayed} log records replayed in {ElapsedMs} ms",
            tenant, config.Name, collection.Count, recovered.Snapshot?.LastSequence ?? 0, recovered.Replayed, clock.ElapsedMilliseconds);
        return collection;
    }

    /// <summary>Validates a filter against the declared payload indexes; INVALID_ARGUMENT names what is wrong.</summary>
    public CompiledFilter CompileFilter(FilterExpression filter) => _segment.Payloads.Compile(filter);

    /// <summary>Inserts or replaces points; returns once the change is durable.</summary>
    public async Task<WriteResult> UpsertAsync(IReadOnlyList<(PointKey Id, float[] Vector, Struct Payload, string Text)> points, CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var operation = new UpsertOperation();
            var key = _segment.Ids.NextKey;
            foreach (var (id, vector, payload, text) in points)
            {
                // The text is logged only where the BM25 index reads it: other collections' logs stay as small as before.
                var stored = new StoredPoint { Key = key++, Id = id.ToPointId(), Payload = payload, Text = HasSparseIndex ? text : "" };
                stored.Vector.Add(vector);
                operation.Points.Add(stored);
            }
            return Commit(new WalRecord { Sequence = _lastSequence + 1, Upsert = operation }, points.Count);
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>Deletes points by id, or every point a filter matches; returns once durable.</summary>
    public async Task<WriteResult> DeleteAsync(IReadOnlyList<PointKey>? ids, CompiledFilter? filter, CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var doomed = filter is null
                ? ids!.Where(_segment.Ids.Contains).Distinct().ToList()
                : _segment.Ids.Points.Where(r => filter.Matches(r.Values)).Select(r => r.Id).ToList();
            if (doomed.Count == 0)
            {
                return new WriteResult(_lastSequence, 0);
            }
            var operation = new DeleteOperation();
            operation.Ids.Add(doomed.Select(d => d.ToPointId()));
            return Commit(new WalRecord { Sequence = _lastSequence + 1, Delete = operation }, doomed.Count);
        }
        finally
        {
            _writer.Release();
        }
    }

    public PointRecord? Get(PointKey id) => _segment.Ids.Get(id);

    /// <summary>The best points for a query; see <see cref="SearchPlanner"/>.</summary>
    public List<SearchHit> Search(float[] query, int limit, CompiledFilter? filter, int ef, bool exact, float? threshold) =>
        _segment.Planner.Search(query, limit, filter, ef, exact, threshold);

    /// <summary>A dense, sparse or hybrid search; see <see cref="SearchPlanner.Search(SearchQuery)"/>.</summary>
    public List<SearchHit> Search(SearchQuery query) => _segment.Planner.Search(query);

    /// <summary>Whether the collection keeps a BM25 index (sparse and hybrid searches).</summary>
    public bool HasSparseIndex => _segment.Sparse is not null;

    /// <summary>
    /// Changes the payload of the points named by id or matched by a filter, vectors untouched; returns once
    /// durable. Every resulting payload is checked against <paramref name="maxPayloadBytes"/> before anything
    /// is logged (RESOURCE_EXHAUSTED naming the point), so the request is all-or-nothing.
    /// </summary>
    public async Task<WriteResult> SetPayloadAsync(IReadOnlyList<PointKey>? ids, CompiledFilter? filter, Struct payload, bool overwrite, int maxPayloadBytes, CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var targets = filter is null
                ? ids!.Distinct().Select(_segment.Ids.Get).OfType<PointRecord>().ToList()
                : _segment.Ids.Points.Where(r => filter.Matches(r.Values)).ToList();
            if (targets.Count == 0)
            {
                return new WriteResult(_lastSequence, 0);
            }
            foreach (var target in targets)
            {
                var size = PayloadUpdate.Apply(target.Payload, payload, overwrite).CalculateSize();
                if (size > maxPayloadBytes)
                {
                    throw new RetrievalException(Grpc.Core.StatusCode.ResourceExhausted,
                        $"payload: point {target.Id} would hold {size} bytes of payload after the update; the limit is {maxPayloadBytes}.");
                }
            }
            var operation = new SetPayloadOperation { Payload = payload, Overwrite = overwrite };
            operation.Ids.Add(targets.Select(t => t.Id.ToPointId()));
            return Commit(new WalRecord { Sequence = _lastSequence + 1, SetPayload = operation }, targets.Count);
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>
    /// Writes a snapshot of everything acknowledged so far and waits for it (shutdown: restarts then replay
    /// nothing). A snapshot the worker is writing is finished first.
    /// </summary>
    public async Task SnapshotAsync(CancellationToken cancellationToken)
    {
        await _snapshots.WhenIdleAsync().ConfigureAwait(false);
        var written = Task.CompletedTask;
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_disposed && _lastSequence > (_snapshots.Current?.LastSequence ?? 0))
            {
                var (image, sequence) = Capture();
                written = _snapshots.Enqueue(image, sequence);
            }
        }
        finally
        {
            _writer.Release();
        }
        await written.ConfigureAwait(false);
    }

    /// <summary>Completes when the background snapshot in progress, if any, is written.</summary>
    public Task WhenSnapshotIdleAsync() => _snapshots.WhenIdleAsync();

    /// <summary>Closes the collection and deletes its files.</summary>
    public async Task DropAsync()
    {
        await _snapshots.WhenIdleAsync().ConfigureAwait(false);
        await _writer.WaitAsync().ConfigureAwait(false);
        try
        {
            CloseUnderLock();
            Directory.Delete(_folder, recursive: true);
        }
        finally
        {
            _writer.Release();
        }
    }

    public void Dispose()
    {
        _snapshots.WhenIdleAsync().GetAwaiter().GetResult();
        _writer.Wait();
        try
        {
            CloseUnderLock();
        }
        finally
        {
            _writer.Release();
        }
    }

    private WriteResult Commit(WalRecord record, int count)
    {
        _log.Append(record);
        _lastSequence = record.Sequence;
        _segment.Apply(record);
        if (_log.Length >= _options.SnapshotAfterLogBytes && !_snapshots.Busy)
        {
            try
            {
                var (image, sequence) = Capture();
                _ = _snapshots.Enqueue(image, sequence); // not awaited: the writer never waits for the disk work
            }
            catch (Exception exception)
            {
                // The write is durable and applied: a failed snapshot start must not fail it.
                _logger.LogError(exception, "Collection {Tenant}/{Collection}: could not start a snapshot", Tenant, Name);
            }
        }
        return new WriteResult(record.Sequence, count);
    }

    // Under the writer lock: an image of the segment at _lastSequence, and the log sealed at that point so
    // the records after it go to a fresh segment while the image is written.
    private (SegmentImage Image, ulong Sequence) Capture()
    {
        var image = _segment.Capture();
        try
        {
            if (_lastSequence > _sealedThrough)
            {
                try
                {
                    _log = LogSegments.Seal(_log, _folder, _lastSequence);
                }
                catch
                {
                    // The active log was closed but not sealed: open it again so writes continue.
                    _log = WriteAheadLog.Open(Path.Combine(_folder, LogSegments.ActiveName), out _, out _);
                    throw;
                }
                _sealedThrough = _lastSequence;
            }
            return (image, _lastSequence);
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    private void CloseUnderLock()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _log.Dispose();
        _segment.Dispose();
    }
}
