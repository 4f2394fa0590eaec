using System.Collections.Concurrent;
using Mesh.Retrieval.Collections;
using Mesh.Retrieval.Filtering;

namespace Mesh.Retrieval.Sparse;

/// <summary>
/// The sparse side of a segment: an inverted index of BM25 terms (term → index keys of the points whose
/// document holds it) and the collection statistics BM25 needs (documents N, their total length). It holds
/// no state of its own beyond what the points' records imply, so recovery rebuilds it exactly from the
/// snapshot's points and the replayed log (the same IDF, the same scores).
/// <para>
/// Score of a point for a query (Robertson and Zaragoza, "The Probabilistic Relevance Framework: BM25 and
/// Beyond", 2009; IDF as Lucene's, never negative): Σ over distinct query terms t of
/// idf(t) · tf·(k1 + 1) / (tf + k1·(1 − b + b·|D|/avgdl)), idf(t) = ln(1 + (N − n(t) + 0.5) / (n(t) + 0.5)),
/// where N counts points with a non-empty document and n(t) those holding t.
/// </para>
/// Writers are serialised by the owning segment; searches run concurrently and resolve every key to the
/// current record, so a point replaced mid-search is scored from one version only.
/// </summary>
internal sealed class Bm25Index(double k1, double b)
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<ulong, byte>> _postings = new(StringComparer.Ordinal);
    private long _documents;
    private long _totalLength;

    /// <summary>Points with a non-empty document (BM25's N).</summary>
    public long Documents => Interlocked.Read(ref _documents);

    /// <summary>Distinct terms in the index.</summary>
    public int Terms => _postings.Count;

    /// <summary>Indexes a point's document (points without text are not documents).</summary>
    public void Add(PointRecord point)
    {
        if (point.Document.Length == 0)
        {
            return;
        }
        foreach (var term in point.Document.Frequencies.Keys)
        {
            _postings.GetOrAdd(term, _ => new ConcurrentDictionary<ulong, byte>())[point.Key] = 0;
        }
        Interlocked.Add(ref _totalLength, point.Document.Length);
        Interlocked.Increment(ref _documents);
    }

    /// <summary>Removes a point's document; terms no point holds any more are dropped.</summary>
    public void Remove(PointRecord point)
    {
        if (point.Document.Length == 0)
        {
            return;
        }
        foreach (var term in point.Document.Frequencies.Keys)
        {
            if (_postings.TryGetValue(term, out var keys) && keys.TryRemove(point.Key, out _) && keys.IsEmpty)
            {
                _postings.TryRemove(term, out _);
            }
        }
        Interlocked.Add(ref _totalLength, -point.Document.Length);
        Interlocked.Decrement(ref _documents);
    }

    /// <summary>
    /// The best <paramref name="limit"/> points for <paramref name="text"/> among those <paramref name="filter"/>
    /// matches, best first (ties: lower index key first, so answers are reproducible), scores at or above
    /// <paramref name="threshold"/> when one is given. Points sharing no term with the query are not returned.
    /// </summary>
    public List<SearchHit> Search(string text, int limit, CompiledFilter? filter, float? threshold, Func<ulong, PointRecord?> byKey)
    {
        var documents = Documents;
        if (documents <= 0)
        {
            return [];
        }
        var averageLength = Math.Max(1.0, (double)Interlocked.Read(ref _totalLength) / documents);
        var scores = new Dictionary<ulong, (PointRecord? Point, double Score)>();
        foreach (var term in Bm25Tokenizer.Tokenize(text).Distinct(StringComparer.Ordinal))
        {
            if (!_postings.TryGetValue(term, out var keys))
            {
                continue;
            }
            var n = keys.Count;
            var idf = Math.Log(1 + ((documents - n + 0.5) / (n + 0.5)));
            foreach (var key in keys.Keys)
            {
                if (!scores.TryGetValue(key, out var entry))
                {
                    // Resolve and filter each point once; a rejected one is remembered as null.
                    var record = byKey(key);
                    entry = (record is not null && (filter is null || filter.Matches(record.Values)) ? record : null, 0);
                }
                if (entry.Point is not null && entry.Point.Document.Frequencies.TryGetValue(term, out var tf))
                {
                    var norm = k1 * (1 - b + (b * entry.Point.Document.Length / averageLength));
                    entry.Score += idf * tf * (k1 + 1) / (tf + norm);
                }
                scores[key] = entry;
            }
        }
        return [.. scores
            .Where(s => s.Value.Point is not null && s.Value.Score > 0 && (threshold is null || s.Value.Score >= threshold))
            .OrderByDescending(s => s.Value.Score).ThenBy(s => s.Key)
            .Take(limit)
            .Select(s => new SearchHit(s.Value.Point!, (float)s.Value.Score))];
    }
}
