using Google.Protobuf.WellKnownTypes;
using Mesh.Retrieval.Filtering;
using Mesh.Retrieval.Native;
using Mesh.Retrieval.Sparse;
using Mesh.Retrieval.Storage.Records;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Collections;

/// <summary>
/// The in-memory state of a collection, in Qdrant's parts: an <see cref="IdTracker"/> (ids → keys →
/// records), a <see cref="PayloadIndex"/>, a <see cref="VectorIndex"/> and the <see cref="SearchPlanner"/>
/// over them. It applies logged operations (<see cref="Apply"/>) and hands out point-in-time images for
/// snapshots (<see cref="Capture"/>); the owning <see cref="Collection"/> serialises every mutation.
/// Records read from disk are untrusted: a malformed one is <see cref="InvalidDataException"/>, never a
/// native error or a half-applied operation.
/// </summary>
internal sealed class Segment : IDisposable
{
    private Segment(CollectionConfig config, VectorIndex vectors, int exactSearchThreshold)
    {
        Config = config;
        Ids = new IdTracker();
        Payloads = new PayloadIndex(config.PayloadIndexes);
        Vectors = vectors;
        Sparse = config.Bm25 is { } bm25 ? new Bm25Index(bm25.K1, bm25.B ?? CollectionConfig.DefaultBm25B) : null;
        Planner = new SearchPlanner(Ids, Payloads, Vectors, Sparse, exactSearchThreshold);
    }

    public CollectionConfig Config { get; }

    public IdTracker Ids { get; }

    public PayloadIndex Payloads { get; }

    public VectorIndex Vectors { get; }

    /// <summary>The BM25 index, or null when the collection has none.</summary>
    public Bm25Index? Sparse { get; }

    public SearchPlanner Planner { get; }

    /// <summary>An empty segment.</summary>
    public static Segment Create(CollectionConfig config, int concurrency, int exactSearchThreshold) =>
        new(config, VectorIndex.Create(config, concurrency), exactSearchThreshold);

    /// <summary>A segment from snapshot files: the points and the index file saved with them.</summary>
    public static Segment Load(CollectionConfig config, int concurrency, int exactSearchThreshold,
        IReadOnlyList<StoredPoint> points, ulong nextKey, string indexPath)
    {
        var segment = new Segment(config, VectorIndex.Load(config, concurrency, indexPath), exactSearchThreshold);
        try
        {
            foreach (var stored in points)
            {
                var point = segment.ToRecord(stored, "the snapshot");
                if (segment.Ids.ByKey(point.Key) is not null || segment.Ids.Contains(point.Id))
                {
                    throw new InvalidDataException($"The snapshot holds key {point.Key} or id {point.Id} twice.");
                }
                segment.Ids.Add(point);
                segment.Payloads.Add(point);
                segment.Sparse?.Add(point);
            }
            if (segment.Vectors.Count != segment.Ids.Count)
            {
                throw new InvalidDataException($"The snapshot index holds {segment.Vectors.Count} vectors but its points file {segment.Ids.Count}.");
            }
            segment.Ids.RestoreNextKey(nextKey);
            return segment;
        }
        catch
        {
            segment.Dispose();
            throw;
        }
    }

    /// <summary>Applies one logged operation (an acknowledged write, or one replayed at recovery).</summary>
    public void Apply(WalRecord record)
    {
        try
        {
            ApplyOperation(record);
        }
        finally
        {
            // After the whole operation (also one refused or failed part-way): cached filter key sets built
            // before or during it no longer describe the points.
            Planner.KeySets.WritesApplied();
        }
    }

    private void ApplyOperation(WalRecord record)
    {
        switch (record.OperationCase)
        {
            case WalRecord.OperationOneofCase.Upsert:
                // Check the whole record before changing anything: a damaged one is refused, not half-applied.
                var added = new List<PointRecord>(record.Upsert.Points.Count);
                var seen = new HashSet<PointKey>();
                var nextKey = Ids.NextKey;
                foreach (var stored in record.Upsert.Points)
                {
                    var point = ToRecord(stored, $"log record {record.Sequence}");
                    // Keys are handed out in increasing order and never reused.
                    if (point.Key < nextKey)
                    {
                        throw new InvalidDataException($"Log record {record.Sequence} reuses index key {point.Key} (next free key {nextKey}).");
                    }
                    if (!seen.Add(point.Id))
                    {
                        throw new InvalidDataException($"Log record {record.Sequence} holds point {point.Id} twice.");
                    }
                    nextKey = point.Key + 1;
                    added.Add(point);
                }
                foreach (var point in added)
                {
                    RemoveExisting(point.Id);
                    Ids.Add(point);
                    Payloads.Add(point);
                    Sparse?.Add(point);
                }
                // Graph inserts are the expensive part; USearch takes them concurrently.
                if (added.Count >= 64)
                {
                    Parallel.ForEach(added, point => Vectors.Add(point.Key, point.Vector));
                }
                else
                {
                    foreach (var point in added)
                    {
                        Vectors.Add(point.Key, point.Vector);
                    }
                }
                break;
            case WalRecord.OperationOneofCase.Delete:
                var ids = new List<PointKey>(record.Delete.Ids.Count);
                foreach (var id in record.Delete.Ids)
                {
                    ids.Add(ToKey(id, $"log record {record.Sequence}"));
                }
                foreach (var id in ids)
                {
                    RemoveExisting(id);
                }
                break;
            case WalRecord.OperationOneofCase.SetPayload:
                var changed = new List<(PointRecord Old, PointRecord New)>(record.SetPayload.Ids.Count);
                foreach (var id in record.SetPayload.Ids)
                {
                    if (Ids.Get(ToKey(id, $"log record {record.Sequence}")) is { } old)
                    {
                        var payload = PayloadUpdate.Apply(old.Payload, record.SetPayload.Payload ?? new Struct(), record.SetPayload.Overwrite);
                        changed.Add((old, WithPayload(old, payload)));
                    }
                }
                foreach (var (old, updated) in changed)
                {
                    // Same key, same vector: the graph is untouched; the record swaps in one step.
                    Payloads.Remove(old);
                    Sparse?.Remove(old);
                    Ids.Add(updated);
                    Payloads.Add(updated);
                    Sparse?.Add(updated);
                }
                break;
            default:
                throw new InvalidDataException($"Log record {record.Sequence} holds no operation.");
        }
    }

    /// <summary>
    /// A point-in-time image for a snapshot: the current records and key counter, and the index copied into
    /// memory. Call it with writes held off, so that all three describe the same log position.
    /// </summary>
    public SegmentImage Capture() => new([.. Ids.Points], Ids.NextKey, Vectors.Serialize());

    public void Dispose() => Vectors.Dispose();

    private void RemoveExisting(PointKey id)
    {
        if (Ids.Get(id) is { } old)
        {
            // Out of the graph first, so a concurrent search never finds a key without its record.
            Vectors.Remove(old.Key);
            Ids.Remove(id);
            Payloads.Remove(old);
            Sparse?.Remove(old);
        }
    }

    private PointRecord ToRecord(StoredPoint stored, string source)
    {
        var id = ToKey(stored.Id, source);
        if (stored.Key == 0)
        {
            throw new InvalidDataException($"{source}: point {id} has index key 0.");
        }
        float[] vector = [.. stored.Vector];
        if (vector.Length != Vectors.Dimensions)
        {
            throw new InvalidDataException($"{source}: point {id} has {vector.Length} components; the collection has {Vectors.Dimensions} dimensions.");
        }
        if (VectorIndex.Refusal(vector, Config.Metric, Config.Storage) is { } refusal)
        {
            throw new InvalidDataException($"{source}: point {id}: {refusal}");
        }
        var payload = stored.Payload ?? new Struct();
        return new PointRecord(stored.Key, id, vector, payload, Payloads.Extract(payload), stored.Text, DocumentOf(stored.Text, payload));
    }

    /// <summary>The record of a point with a new payload: same key, vector and text.</summary>
    public PointRecord WithPayload(PointRecord old, Struct payload) =>
        new(old.Key, old.Id, old.Vector, payload, Payloads.Extract(payload), old.Text, DocumentOf(old.Text, payload));

    // The BM25 document: the upserted text, then the strings of the declared text fields.
    private Bm25Document DocumentOf(string text, Struct payload)
    {
        if (Config.Bm25 is null)
        {
            return Bm25Document.Empty;
        }
        var texts = new List<string>();
        if (text.Length > 0)
        {
            texts.Add(text);
        }
        foreach (var field in Config.Bm25.TextFields)
        {
            texts.AddRange(PayloadSchema.Flatten(PayloadSchema.Lookup(payload, field))
                .Where(v => v.KindCase == Value.KindOneofCase.StringValue).Select(v => v.StringValue));
        }
        return Bm25Document.From(texts);
    }

    private static PointKey ToKey(PointId? id, string source)
    {
        try
        {
            return PointKey.From(id);
        }
        catch (RetrievalException exception)
        {
            throw new InvalidDataException($"{source}: {exception.Message}");
        }
    }
}

/// <summary>What a snapshot writes: records, the next free key, and the index file image (owned; dispose it).</summary>
internal sealed record SegmentImage(List<PointRecord> Points, ulong NextKey, NativeBuffer Index) : IDisposable
{
    public void Dispose() => Index.Dispose();
}
