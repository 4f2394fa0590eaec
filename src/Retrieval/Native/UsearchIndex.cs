using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Mesh.Retrieval.Native;

/// <summary>
/// A thread-safe HNSW index over the USearch C API: what a service needs and the package's managed wrapper
/// lacks.
/// <list type="bullet">
/// <item>Capacity is reserved ahead of inserts, in chunks, under an exclusive lock: <c>usearch_reserve</c>
/// reallocates and must never run beside another call, and <c>usearch_add</c> past capacity fails.</item>
/// <item>Native calls that use a per-thread search context are gated by a semaphore sized to the contexts
/// the index was given: more calls in flight than contexts is undefined behaviour in USearch.</item>
/// <item>Searches may override ef. USearch keeps one ef per index, so a search with another ef waits
/// until the searches in flight with the current ef drain, then switches it.</item>
/// <item>Filtered search passes a managed predicate through <c>usearch_filtered_search</c>, so the graph
/// walk itself skips non-matching points.</item>
/// <item>Every vector length is checked before it crosses into native code.</item>
/// </list>
/// </summary>
internal sealed unsafe class UsearchIndex : IDisposable
{
    private const int MinimumReserveChunk = 1024;

    private readonly UsearchIndexHandle _handle;
    private readonly ReaderWriterLockSlim _structure = new(LockRecursionPolicy.NoRecursion);
    private readonly SemaphoreSlim _contexts;
    private readonly object _efGate = new();
    private int _currentEf;
    private int _searchesInFlight;
    private long _capacity;
    private long _occupied;

    private UsearchIndex(UsearchIndexOptions options, UsearchIndexHandle handle)
    {
        Options = options;
        _handle = handle;
        _contexts = new SemaphoreSlim(options.Concurrency, options.Concurrency);
        _currentEf = options.ExpansionSearch;
    }

    public UsearchIndexOptions Options { get; }

    /// <summary>Points in the index.</summary>
    public long Count => Volatile.Read(ref _occupied);

    /// <summary>Creates an empty index.</summary>
    public static UsearchIndex Create(UsearchIndexOptions options)
    {
        var native = ToNative(options);
        var index = new UsearchIndex(options, UsearchIndexHandle.Create(ref native));
        index.ApplySettings();
        return index;
    }

    /// <summary>Loads an index saved by <see cref="Save"/>; the options must be the ones it was built with.</summary>
    public static UsearchIndex Load(UsearchIndexOptions options, string path)
    {
        var native = ToNative(options);
        var index = new UsearchIndex(options, UsearchIndexHandle.Create(ref native));
        try
        {
            UsearchNative.Load(index._handle, path, out var error);
            UsearchNative.ThrowIfError(error, "load");
            var dimensions = (int)UsearchNative.Dimensions(index._handle, out error);
            UsearchNative.ThrowIfError(error, "dimensions");
            if (dimensions != options.Dimensions)
            {
                throw new UsearchException($"The index file {path} has {dimensions} dimensions; {options.Dimensions} expected.");
            }
            // Loading replaces the index state, thread contexts and search expansion included: set them again.
            index.ApplySettings();
            index._occupied = (long)UsearchNative.Size(index._handle, out error);
            UsearchNative.ThrowIfError(error, "size");
            index._capacity = (long)UsearchNative.Capacity(index._handle, out error);
            UsearchNative.ThrowIfError(error, "capacity");
            return index;
        }
        catch
        {
            index.Dispose();
            throw;
        }
    }

    /// <summary>Adds a vector under a key that is not in the index.</summary>
    public void Add(ulong key, ReadOnlySpan<float> vector)
    {
        CheckLength(vector, nameof(vector));
        while (true)
        {
            _structure.EnterReadLock();
            try
            {
                if (Interlocked.Increment(ref _occupied) <= Volatile.Read(ref _capacity))
                {
                    var added = false;
                    _contexts.Wait();
                    try
                    {
                        fixed (float* data = vector)
                        {
                            UsearchNative.Add(_handle, key, data, UsearchNative.ScalarKind.F32, out var error);
                            UsearchNative.ThrowIfError(error, "add");
                            added = true;
                        }
                    }
                    finally
                    {
                        _contexts.Release();
                        if (!added)
                        {
                            Interlocked.Decrement(ref _occupied);
                        }
                    }
                    return;
                }
                Interlocked.Decrement(ref _occupied);
            }
            finally
            {
                _structure.ExitReadLock();
            }
            Grow();
        }
    }

    /// <summary>Removes a key; false when it was not there.</summary>
    public bool Remove(ulong key)
    {
        _structure.EnterReadLock();
        try
        {
            var removed = UsearchNative.Remove(_handle, key, out var error);
            UsearchNative.ThrowIfError(error, "remove");
            if (removed > 0)
            {
                Interlocked.Add(ref _occupied, -(long)removed);
            }
            return removed > 0;
        }
        finally
        {
            _structure.ExitReadLock();
        }
    }

    /// <summary>
    /// Approximate nearest neighbours of <paramref name="query"/>, best first, into the given buffers
    /// (their length is k). <paramref name="ef"/> 0 uses the index default. <paramref name="filter"/>, when
    /// given, is called from the native graph walk for each candidate key and must be fast and thread-safe.
    /// </summary>
    /// <returns>The number of hits written.</returns>
    public int Search(ReadOnlySpan<float> query, int ef, Span<ulong> keys, Span<float> distances, Func<ulong, bool>? filter = null)
    {
        CheckLength(query, nameof(query));
        if (keys.Length != distances.Length || keys.IsEmpty)
        {
            throw new ArgumentException("keys and distances must have the same non-zero length (k).");
        }
        var wantedEf = ef <= 0 ? Options.ExpansionSearch : Math.Max(ef, keys.Length);
        _structure.EnterReadLock();
        try
        {
            EnterEf(wantedEf);
            _contexts.Wait();
            try
            {
                nuint found;
                nint error;
                fixed (float* q = query)
                fixed (ulong* k = keys)
                fixed (float* d = distances)
                {
                    if (filter is null)
                    {
                        found = UsearchNative.Search(_handle, q, UsearchNative.ScalarKind.F32, (nuint)keys.Length, k, d, out error);
                    }
                    else
                    {
                        var state = new UsearchFilterCallback(filter);
                        var gc = GCHandle.Alloc(state);
                        try
                        {
                            found = UsearchNative.FilteredSearch(
                                _handle, q, UsearchNative.ScalarKind.F32, (nuint)keys.Length,
                                &UsearchFilterCallback.Invoke, GCHandle.ToIntPtr(gc), k, d, out error);
                        }
                        finally
                        {
                            gc.Free();
                        }
                        if (state.Failure is not null)
                        {
                            throw new InvalidOperationException("The search filter failed.", state.Failure);
                        }
                    }
                }
                UsearchNative.ThrowIfError(error, "search");
                return (int)found;
            }
            finally
            {
                _contexts.Release();
                ExitEf();
            }
        }
        finally
        {
            _structure.ExitReadLock();
        }
    }

    /// <summary>Writes the index to <paramref name="path"/>; writes wait, searches continue after it.</summary>
    public void Save(string path)
    {
        _structure.EnterWriteLock();
        try
        {
            UsearchNative.Save(_handle, path, out var error);
            UsearchNative.ThrowIfError(error, "save");
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }

    /// <summary>
    /// The index as its file image, in memory: a point-in-time copy taken under the exclusive lock (adds and
    /// searches wait for a memory copy, not for a disk write), so a background writer can persist it while
    /// the index keeps changing. The caller disposes the buffer.
    /// </summary>
    public NativeBuffer Serialize()
    {
        _structure.EnterWriteLock();
        try
        {
            var length = UsearchNative.SerializedLength(_handle, out var error);
            UsearchNative.ThrowIfError(error, "serialized_length");
            var buffer = new NativeBuffer((long)length);
            try
            {
                UsearchNative.SaveBuffer(_handle, buffer.Pointer, length, out error);
                UsearchNative.ThrowIfError(error, "save_buffer");
                return buffer;
            }
            catch
            {
                buffer.Dispose();
                throw;
            }
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }

    /// <summary>
    /// The index's distance between two full-precision vectors, computed by the same SIMD kernels the
    /// graph uses: exact search ranks with it so that exact and approximate scores agree in meaning.
    /// </summary>
    public float Distance(ReadOnlySpan<float> first, ReadOnlySpan<float> second)
    {
        CheckLength(first, nameof(first));
        CheckLength(second, nameof(second));
        fixed (float* a = first)
        fixed (float* b = second)
        {
            var distance = UsearchNative.Distance(a, b, UsearchNative.ScalarKind.F32, (nuint)Options.Dimensions, Options.Metric, out var error);
            UsearchNative.ThrowIfError(error, "distance");
            return distance;
        }
    }

    /// <summary>Bytes of memory the native index uses.</summary>
    public long MemoryUsage()
    {
        var bytes = UsearchNative.MemoryUsage(_handle, out var error);
        UsearchNative.ThrowIfError(error, "memory_usage");
        return (long)bytes;
    }

    /// <summary>The SIMD code path USearch picked on this CPU.</summary>
    public string HardwareAcceleration()
    {
        var name = UsearchNative.HardwareAcceleration(_handle, out var error);
        UsearchNative.ThrowIfError(error, "hardware_acceleration");
        return Marshal.PtrToStringUTF8(name) ?? "";
    }

    public void Dispose()
    {
        _structure.EnterWriteLock();
        try
        {
            _handle.Dispose();
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }

    private static UsearchNative.InitOptions ToNative(UsearchIndexOptions options) =>
        new()
        {
            Metric = options.Metric,
            Quantization = options.Storage,
            Dimensions = (nuint)options.Dimensions,
            Connectivity = (nuint)options.Connectivity,
            ExpansionAdd = (nuint)options.ExpansionAdd,
            ExpansionSearch = (nuint)options.ExpansionSearch,
        };

    private void ApplySettings()
    {
        UsearchNative.ChangeThreadsAdd(_handle, (nuint)Options.Concurrency, out var error);
        UsearchNative.ThrowIfError(error, "change_threads_add");
        UsearchNative.ChangeThreadsSearch(_handle, (nuint)Options.Concurrency, out error);
        UsearchNative.ThrowIfError(error, "change_threads_search");
        UsearchNative.ChangeExpansionSearch(_handle, (nuint)_currentEf, out error);
        UsearchNative.ThrowIfError(error, "change_expansion_search");
    }

    private void Grow()
    {
        _structure.EnterWriteLock();
        try
        {
            var capacity = Volatile.Read(ref _capacity);
            if (Volatile.Read(ref _occupied) < capacity)
            {
                return; // another writer grew it meanwhile
            }
            // Grow by half (at least a chunk): amortised O(1) per insert without doubling a large index.
            var target = capacity + Math.Max(MinimumReserveChunk, capacity / 2);
            UsearchNative.Reserve(_handle, (nuint)target, out var error);
            UsearchNative.ThrowIfError(error, "reserve");
            ApplySettings();
            Volatile.Write(ref _capacity, (long)UsearchNative.Capacity(_handle, out error));
            UsearchNative.ThrowIfError(error, "capacity");
        }
        finally
        {
            _structure.ExitWriteLock();
        }
    }

    private void EnterEf(int ef)
    {
        lock (_efGate)
        {
            while (_searchesInFlight > 0 && _currentEf != ef)
            {
                Monitor.Wait(_efGate);
            }
            if (_currentEf != ef)
            {
                UsearchNative.ChangeExpansionSearch(_handle, (nuint)ef, out var error);
                UsearchNative.ThrowIfError(error, "change_expansion_search");
                _currentEf = ef;
            }
            _searchesInFlight++;
        }
    }

    private void ExitEf()
    {
        lock (_efGate)
        {
            if (--_searchesInFlight == 0)
            {
                Monitor.PulseAll(_efGate);
            }
        }
    }

    private void CheckLength(ReadOnlySpan<float> vector, string name)
    {
        if (vector.Length != Options.Dimensions)
        {
            throw new ArgumentException($"The vector has {vector.Length} components; the index has {Options.Dimensions} dimensions.", name);
        }
    }
}
