using System.Collections.Concurrent;
using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Mesh.Retrieval.Filtering;
using Mesh.Retrieval.Native;
using Mesh.Retrieval.Storage;
using Mesh.Retrieval.Storage.Records;
using Mesh.Retrieval.V1;
using Microsoft.Extensions.Logging;

namespace Mesh.Retrieval.Collections;

/// <summary>
/// One collection: its points, payload postings and HNSW index in memory, and its files on disk
/// (definition, snapshot, write-ahead log).
/// <para>
/// Writes are serialised: a write takes the next log sequence, is appended to the log and fsynced, then
/// applied in memory, and only then acknowledged. Searches take no collection lock: they read immutable
/// <see cref="PointRecord"/>s from concurrent dictionaries and the thread-safe <see cref="UsearchIndex"/>,
/// so they run in parallel with writes and see each point either before or after a write, never between.
/// </para>
/// </summary>
internal sealed class Collection : IDisposable
{
    public const string DefinitionName = "collection.definition";
    private const string LogName = "wal.log";

    private readonly string _folder;
    private readonly RetrievalOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly ConcurrentDictionary<ulong, PointRecord> _byKey = new();
    private readonly ConcurrentDictionary<PointKey, ulong> _byId = new();
    private readonly KeywordPostings _postings;
    private UsearchIndex _index;
    private WriteAheadLog _log;
    private ulong _lastSequence;
    private ulong _nextKey = 1;
    private bool _disposed;

    private Collection(string folder, string tenant, CreateCollectionRequest config, RetrievalOptions options, ILogger logger)
    {
        _folder = folder;
        Tenant = tenant;
        Config = config;
        _options = options;
        _logger = logger;
        Schema = new PayloadSchema(config.PayloadIndexes);
        _postings = new KeywordPostings(Schema.Fields.Count);
        _index = null!;
        _log = null!;
    }

    public string Tenant { get; }

    public string Name => Config.Name;

    /// <summary>The definition, defaults filled in.</summary>
    public CreateCollectionRequest Config { get; }

    public PayloadSchema Schema { get; }

    public int Dimensions => (int)Config.Dimensions;

    public long Count => _byKey.Count;

    /// <summary>The collection's HNSW index itself: the benchmark queries it directly as "USearch alone".</summary>
    internal UsearchIndex Index => _index;

    /// <summary>Creates the folder and definition of a new collection and opens it.</summary>
    public static Collection Create(string folder, string tenant, CreateCollectionRequest config, RetrievalOptions options, ILogger logger)
    {
        Directory.CreateDirectory(folder);
        SnapshotFiles.WriteAtomically(Path.Combine(folder, DefinitionName), new CollectionDefinition { Tenant = tenant, Config = config });
        return Open(folder, options, logger);
    }

    /// <summary>Opens a collection folder: loads the last snapshot, then replays the log after it.</summary>
    public static Collection Open(string folder, RetrievalOptions options, ILogger logger)
    {
        var definition = SnapshotFiles.ReadMessage(Path.Combine(folder, DefinitionName), CollectionDefinition.Parser)
            ?? throw new InvalidDataException($"{folder} holds no {DefinitionName}.");
        var collection = new Collection(folder, definition.Tenant, definition.Config, options, logger);
        try
        {
            collection.Recover();
            return collection;
        }
        catch
        {
            collection.Dispose();
            throw;
        }
    }

    public CollectionInfo Describe() => new()
    {
        Name = Name,
        Dimensions = Config.Dimensions,
        Metric = Config.Metric,
        Hnsw = Config.Hnsw.Clone(),
        Embedder = Config.Embedder,
        PayloadIndexes = { Config.PayloadIndexes },
        Storage = Config.Storage,
        PointsCount = (ulong)Count,
        DiskSizeBytes = (ulong)new DirectoryInfo(_folder).EnumerateFiles().Sum(f => f.Length),
    };

    public CompiledFilter CompileFilter(Filter filter) => CompiledFilter.Compile(filter, Schema);

    /// <summary>Inserts or replaces points; returns once the change is durable.</summary>
    public async Task<UpdateResponse> UpsertAsync(IReadOnlyList<(PointKey Id, float[] Vector, Struct Payload)> points, CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var operation = new UpsertOperation();
            foreach (var (id, vector, payload) in points)
            {
                var stored = new StoredPoint { Key = _nextKey++, Id = id.ToPointId(), Payload = payload };
                stored.Vector.Add(vector);
                operation.Points.Add(stored);
            }
            var record = new WalRecord { Sequence = _lastSequence + 1, Upsert = operation };
            _log.Append(record);
            _lastSequence = record.Sequence;
            Apply(record);
            SnapshotIfLogIsLarge();
            return new UpdateResponse { OperationId = record.Sequence, Count = (ulong)points.Count };
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>Deletes points by id, or every point a filter matches; returns once durable.</summary>
    public async Task<UpdateResponse> DeleteAsync(IReadOnlyList<PointKey>? ids, CompiledFilter? filter, CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var doomed = filter is null
                ? ids!.Where(_byId.ContainsKey).Distinct().ToList()
                : _byKey.Values.Where(r => filter.Matches(r.Values)).Select(r => r.Id).ToList();
            if (doomed.Count == 0)
            {
                return new UpdateResponse { OperationId = _lastSequence, Count = 0 };
            }
            var operation = new DeleteOperation();
            operation.Ids.Add(doomed.Select(d => d.ToPointId()));
            var record = new WalRecord { Sequence = _lastSequence + 1, Delete = operation };
            _log.Append(record);
            _lastSequence = record.Sequence;
            Apply(record);
            SnapshotIfLogIsLarge();
            return new UpdateResponse { OperationId = record.Sequence, Count = (ulong)doomed.Count };
        }
        finally
        {
            _writer.Release();
        }
    }

    public PointRecord? Get(PointKey id) =>
        _byId.TryGetValue(id, out var key) && _byKey.TryGetValue(key, out var record) ? record : null;

    /// <summary>
    /// The best <paramref name="limit"/> points for a query. Without a filter the HNSW graph answers (or an
    /// exact scan when asked). With a filter the planner bounds the matching points from the keyword
    /// postings (or counts them by a scan, stopped early once past the threshold, when no keyword condition
    /// bounds them): when few enough match, exact
    /// search over exactly those points gives the true top-k; otherwise the graph is walked with the filter
    /// applied inside the walk, so the answer is still the top-k among matching points.
    /// </summary>
    public List<(PointRecord Point, float Score)> Search(float[] query, int limit, CompiledFilter? filter, int ef, bool exact, float? threshold)
    {
        List<(PointRecord Point, float Distance)> hits;
        if (filter is null)
        {
            hits = exact ? ExactSearch(query, limit, _byKey.Values) : GraphSearch(query, limit, ef, null);
        }
        else
        {
            var bound = filter.UpperBound(_postings);
            if (exact || bound <= _options.ExactSearchThreshold)
            {
                var candidates = bound is null
                    ? _byKey.Values
                    : filter.Candidates(_postings).Select(k => _byKey.GetValueOrDefault(k)).OfType<PointRecord>();
                hits = ExactSearch(query, limit, candidates.Where(r => filter.Matches(r.Values)));
            }
            else if (bound is null
                && _byKey.Values.Where(r => filter.Matches(r.Values)).Take(_options.ExactSearchThreshold + 1).ToList() is { } matching
                && matching.Count <= _options.ExactSearchThreshold)
            {
                hits = ExactSearch(query, limit, matching);
            }
            else
            {
                hits = GraphSearch(query, limit, ef, key => _byKey.TryGetValue(key, out var r) && filter.Matches(r.Values));
            }
        }
        var results = new List<(PointRecord, float)>(hits.Count);
        foreach (var (point, distance) in hits)
        {
            var score = CollectionConfig.Score(Config.Metric, distance);
            if (threshold is null || score >= threshold)
            {
                results.Add((point, score));
            }
        }
        return results;
    }

    /// <summary>Writes a snapshot and starts a fresh log (also done on shutdown, to make restarts fast).</summary>
    public async Task SnapshotAsync(CancellationToken cancellationToken)
    {
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_disposed)
            {
                WriteSnapshot();
            }
        }
        finally
        {
            _writer.Release();
        }
    }

    /// <summary>Closes the collection and deletes its files.</summary>
    public async Task DropAsync()
    {
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

    private void CloseUnderLock()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _log?.Dispose();
        _index?.Dispose();
    }

    private List<(PointRecord, float)> GraphSearch(float[] query, int limit, int ef, Func<ulong, bool>? filter)
    {
        var keys = new ulong[limit];
        var distances = new float[limit];
        for (var attempt = 1; ; attempt++)
        {
            var found = _index.Search(query, ef, keys, distances, filter);
            var hits = new List<(PointRecord, float)>(found);
            for (var i = 0; i < found; i++)
            {
                // A point replaced or deleted while the search ran is skipped, never returned half-updated.
                if (_byKey.TryGetValue(keys[i], out var record))
                {
                    hits.Add((record, distances[i]));
                }
            }
            // A skipped hit means a write raced this search: search again so that the replacement (already
            // in the graph, or about to be) takes its place instead of the answer coming back short.
            if (hits.Count == found || attempt == 3)
            {
                return hits;
            }
        }
    }

    private List<(PointRecord, float)> ExactSearch(float[] query, int limit, IEnumerable<PointRecord> candidates)
    {
        // A max-heap of the best `limit` so far, keyed by distance: the root is the worst kept hit.
        var best = new PriorityQueue<PointRecord, float>(limit + 1, Comparer<float>.Create((a, b) => b.CompareTo(a)));
        foreach (var record in candidates)
        {
            var distance = _index.Distance(query, record.Vector);
            if (best.Count < limit)
            {
                best.Enqueue(record, distance);
            }
            else if (best.TryPeek(out _, out var worst) && distance < worst)
            {
                best.EnqueueDequeue(record, distance);
            }
        }
        var hits = new List<(PointRecord, float)>(best.Count);
        while (best.TryDequeue(out var record, out var distance))
        {
            hits.Add((record, distance));
        }
        hits.Reverse();
        return hits;
    }

    private void Apply(WalRecord record)
    {
        switch (record.OperationCase)
        {
            case WalRecord.OperationOneofCase.Upsert:
                var added = new List<PointRecord>(record.Upsert.Points.Count);
                foreach (var stored in record.Upsert.Points)
                {
                    var id = PointKey.From(stored.Id);
                    RemoveExisting(id);
                    var point = new PointRecord(stored.Key, id, [.. stored.Vector], stored.Payload ?? new Struct(), Schema.Extract(stored.Payload ?? new Struct()));
                    _byKey[point.Key] = point;
                    _postings.Add(point);
                    _byId[id] = point.Key;
                    _nextKey = Math.Max(_nextKey, stored.Key + 1);
                    added.Add(point);
                }
                // Graph inserts are the expensive part; USearch takes them concurrently.
                if (added.Count >= 64)
                {
                    Parallel.ForEach(added, point => _index.Add(point.Key, point.Vector));
                }
                else
                {
                    foreach (var point in added)
                    {
                        _index.Add(point.Key, point.Vector);
                    }
                }
                break;
            case WalRecord.OperationOneofCase.Delete:
                foreach (var id in record.Delete.Ids)
                {
                    RemoveExisting(PointKey.From(id));
                }
                break;
            default:
                throw new InvalidDataException($"Log record {record.Sequence} holds no operation.");
        }
    }

    private void RemoveExisting(PointKey id)
    {
        if (_byId.TryRemove(id, out var oldKey) && _byKey.TryGetValue(oldKey, out var old))
        {
            // Out of the graph first, so a concurrent search never finds a key without its record.
            _index.Remove(oldKey);
            _byKey.TryRemove(oldKey, out _);
            _postings.Remove(old);
        }
    }

    private void Recover()
    {
        var clock = Stopwatch.StartNew();
        var indexOptions = CollectionConfig.IndexOptions(Config, _options.IndexConcurrency > 0 ? _options.IndexConcurrency : Math.Max(4, Environment.ProcessorCount * 2));
        var manifest = SnapshotFiles.ReadMessage(Path.Combine(_folder, SnapshotFiles.ManifestName), SnapshotManifest.Parser);
        if (manifest is null)
        {
            _index = UsearchIndex.Create(indexOptions);
        }
        else
        {
            foreach (var stored in SnapshotFiles.ReadPoints(Path.Combine(_folder, manifest.PointsFile), manifest.Points))
            {
                var id = PointKey.From(stored.Id);
                var point = new PointRecord(stored.Key, id, [.. stored.Vector], stored.Payload ?? new Struct(), Schema.Extract(stored.Payload ?? new Struct()));
                _byKey[point.Key] = point;
                _byId[id] = point.Key;
                _postings.Add(point);
            }
            _index = UsearchIndex.Load(indexOptions, Path.Combine(_folder, manifest.IndexFile));
            if (_index.Count != _byKey.Count)
            {
                throw new InvalidDataException($"The snapshot index of {Tenant}/{Name} holds {_index.Count} vectors but its points file {_byKey.Count}.");
            }
            _lastSequence = manifest.LastSequence;
            _nextKey = manifest.NextKey;
        }
        _log = WriteAheadLog.Open(Path.Combine(_folder, LogName), out var records, out var truncated);
        if (truncated > 0)
        {
            _logger.LogWarning("Collection {Tenant}/{Collection}: truncated a torn write-ahead-log tail of {Bytes} bytes", Tenant, Name, truncated);
        }
        var replayed = 0;
        foreach (var record in records.Where(r => r.Sequence > _lastSequence))
        {
            if (record.Sequence != _lastSequence + 1)
            {
                throw new InvalidDataException($"The log of {Tenant}/{Name} jumps from sequence {_lastSequence} to {record.Sequence}.");
            }
            Apply(record);
            _lastSequence = record.Sequence;
            replayed++;
            if (replayed % 1000 == 0)
            {
                _logger.LogInformation("Collection {Tenant}/{Collection}: replayed {Records} of {Total} log records", Tenant, Name, replayed, records.Count);
            }
        }
        _logger.LogInformation(
            "Opened collection {Tenant}/{Collection}: {Points} points, snapshot at {Snapshot}, {Replayed} log records replayed in {ElapsedMs} ms",
            Tenant, Name, Count, manifest?.LastSequence ?? 0, replayed, clock.ElapsedMilliseconds);
    }

    private void SnapshotIfLogIsLarge()
    {
        if (_log.Length >= _options.SnapshotAfterLogBytes)
        {
            WriteSnapshot();
        }
    }

    private void WriteSnapshot()
    {
        var clock = Stopwatch.StartNew();
        var sequence = _lastSequence;
        var pointsFile = $"points-{sequence}.dat";
        var indexFile = $"index-{sequence}.usearch";
        var points = _byKey.Values.ToList();
        SnapshotFiles.WritePoints(Path.Combine(_folder, pointsFile), points.Select(p =>
        {
            var stored = new StoredPoint { Key = p.Key, Id = p.Id.ToPointId(), Payload = p.Payload };
            stored.Vector.Add(p.Vector);
            return stored;
        }));
        _index.Save(Path.Combine(_folder, indexFile));
        SnapshotFiles.Sync(Path.Combine(_folder, indexFile));
        SnapshotFiles.WriteAtomically(Path.Combine(_folder, SnapshotFiles.ManifestName), new SnapshotManifest
        {
            LastSequence = sequence,
            NextKey = _nextKey,
            Points = (ulong)points.Count,
            PointsFile = pointsFile,
            IndexFile = indexFile,
        });
        // The snapshot now covers the whole log: start an empty one (a crash before this point only
        // leaves records the manifest already covers, which recovery skips by sequence).
        _log.Dispose();
        var logPath = Path.Combine(_folder, LogName);
        File.Delete(logPath + ".new");
        WriteAheadLog.Open(logPath + ".new", out _, out _).Dispose();
        File.Move(logPath + ".new", logPath, overwrite: true);
        SnapshotFiles.SyncDirectory(_folder);
        _log = WriteAheadLog.Open(logPath, out _, out _);
        foreach (var file in Directory.EnumerateFiles(_folder))
        {
            var name = Path.GetFileName(file);
            if ((name.StartsWith("points-", StringComparison.Ordinal) || name.StartsWith("index-", StringComparison.Ordinal))
                && name != pointsFile && name != indexFile)
            {
                File.Delete(file);
            }
        }
        _logger.LogInformation("Collection {Tenant}/{Collection}: snapshot of {Points} points at sequence {Sequence} in {ElapsedMs} ms",
            Tenant, Name, points.Count, sequence, clock.ElapsedMilliseconds);
    }

    /// <summary>Maps the collection's own errors to statuses.</summary>
    public static RetrievalException NotFound(string name) => new(StatusCode.NotFound, $"Collection \"{name}\" does not exist; create it first or check the name (ListCollections lists yours).");
}
