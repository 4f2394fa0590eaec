using System.Runtime.InteropServices;

namespace Mesh.Retrieval.Native;

/// <summary>
/// The C API of USearch (<c>c/usearch.h</c>, exported by <c>libusearch_c</c> of the Cloud.Unum.USearch
/// package), bound one to one. Every function reports failure through a trailing
/// <c>usearch_error_t*</c>: a static, library-owned C string that must not be freed. Nothing here checks
/// lengths or locks: <see cref="UsearchIndex"/> does.
/// </summary>
internal static unsafe partial class UsearchNative
{
    private const string Library = "libusearch_c";

    /// <summary><c>usearch_metric_kind_t</c>.</summary>
    public enum MetricKind
    {
        Unknown = 0,
        Cosine = 1,
        InnerProduct = 2,
        L2Squared = 3,
    }

    /// <summary><c>usearch_scalar_kind_t</c>; the values are part of the file format.</summary>
    public enum ScalarKind
    {
        Unknown = 0,
        F32 = 1,
        F64 = 2,
        F16 = 3,
        I8 = 4,
        B1 = 5,
    }

    /// <summary><c>usearch_init_options_t</c>, field for field (C layout on 64-bit targets).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct InitOptions
    {
        public MetricKind Metric;
        public nint CustomMetric;
        public ScalarKind Quantization;
        public nuint Dimensions;
        public nuint Connectivity;
        public nuint ExpansionAdd;
        public nuint ExpansionSearch;
        public byte Multi;
    }

    [LibraryImport(Library, EntryPoint = "usearch_init")]
    public static partial nint Init(ref InitOptions options, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_free")]
    public static partial void Free(nint index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_version")]
    public static partial nint Version();

    [LibraryImport(Library, EntryPoint = "usearch_hardware_acceleration")]
    public static partial nint HardwareAcceleration(UsearchIndexHandle index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_memory_usage")]
    public static partial nuint MemoryUsage(UsearchIndexHandle index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_save", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void Save(UsearchIndexHandle index, string path, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_serialized_length")]
    public static partial nuint SerializedLength(UsearchIndexHandle index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_save_buffer")]
    public static partial void SaveBuffer(UsearchIndexHandle index, void* buffer, nuint length, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_load", StringMarshalling = StringMarshalling.Utf8)]
    public static partial void Load(UsearchIndexHandle index, string path, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_size")]
    public static partial nuint Size(UsearchIndexHandle index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_capacity")]
    public static partial nuint Capacity(UsearchIndexHandle index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_dimensions")]
    public static partial nuint Dimensions(UsearchIndexHandle index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_connectivity")]
    public static partial nuint Connectivity(UsearchIndexHandle index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_expansion_search")]
    public static partial nuint ExpansionSearch(UsearchIndexHandle index, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_reserve")]
    public static partial void Reserve(UsearchIndexHandle index, nuint capacity, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_change_expansion_search")]
    public static partial void ChangeExpansionSearch(UsearchIndexHandle index, nuint expansion, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_change_threads_add")]
    public static partial void ChangeThreadsAdd(UsearchIndexHandle index, nuint threads, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_change_threads_search")]
    public static partial void ChangeThreadsSearch(UsearchIndexHandle index, nuint threads, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_add")]
    public static partial void Add(UsearchIndexHandle index, ulong key, float* vector, ScalarKind kind, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_contains")]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool Contains(UsearchIndexHandle index, ulong key, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_remove")]
    public static partial nuint Remove(UsearchIndexHandle index, ulong key, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_search")]
    public static partial nuint Search(
        UsearchIndexHandle index, float* query, ScalarKind kind, nuint count, ulong* keys, float* distances, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_filtered_search")]
    public static partial nuint FilteredSearch(
        UsearchIndexHandle index, float* query, ScalarKind kind, nuint count,
        delegate* unmanaged<ulong, nint, int> filter, nint filterState,
        ulong* keys, float* distances, out nint error);

    [LibraryImport(Library, EntryPoint = "usearch_distance")]
    public static partial float Distance(float* first, float* second, ScalarKind kind, nuint dimensions, MetricKind metric, out nint error);

    /// <summary>Throws when a call reported an error.</summary>
    public static void ThrowIfError(nint error, string operation)
    {
        if (error != 0)
        {
            throw new UsearchException($"usearch {operation} failed: {Marshal.PtrToStringUTF8(error)}");
        }
    }
}

/// <summary>An error reported by the USearch native library.</summary>
public sealed class UsearchException(string message) : Exception(message);
