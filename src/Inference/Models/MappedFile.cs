using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Mesh.Inference.Models;

/// <summary>
/// A whole file's bytes at one pointer, read-only: memory-mapped (<see cref="WeightMemory.Mapped"/>),
/// so that loading costs no copy and the OS page cache shares the weights between processes, or
/// read into anonymous memory on 2 MiB huge pages (<see cref="WeightMemory.HugePages"/>), which
/// streams faster; see <see cref="WeightMemory"/>.
/// </summary>
public sealed unsafe partial class MappedFile : IDisposable
{
    /// <summary>The huge page size the copy is aligned to (x86-64 and arm64 PMD size).</summary>
    public const int HugePageBytes = 2 << 20;

    private const int MadviseHugePage = 14;

    // Bytes per read while copying: large enough to stream, small enough to report progress often.
    private const int CopyChunkBytes = 64 << 20;

    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private bool _disposed;

    /// <summary>Maps <paramref name="path"/> read-only; an empty file is a <see cref="ModelFormatException"/>.</summary>
    public MappedFile(string path)
        : this(path, WeightMemory.Mapped)
    {
    }

    /// <summary>
    /// Maps or copies <paramref name="path"/> as <paramref name="memory"/> says (<see cref="WeightMemory.Auto"/>
    /// resolved by <see cref="Resolve(WeightMemory)"/>); <paramref name="progress"/> receives the bytes copied so far.
    /// An empty file is a <see cref="ModelFormatException"/>; a copy that does not fit in memory is an
    /// <see cref="OutOfMemoryException"/>.
    /// </summary>
    public MappedFile(string path, WeightMemory memory, IProgress<long>? progress = null)
    {
        Path = path;
        Length = FileLength(path);
        if (Length == 0)
        {
            throw new ModelFormatException(path, "file", "file is empty");
        }

        Memory = Resolve(memory);
        if (Memory == WeightMemory.HugePages)
        {
            Pointer = Copy(path, Length, progress);
            return;
        }

        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        Pointer = p + _view.PointerOffset;
    }

    /// <summary>The mapped file's path.</summary>
    public string Path { get; }

    /// <summary>Where the bytes are: <see cref="WeightMemory.Mapped"/> or <see cref="WeightMemory.HugePages"/>.</summary>
    public WeightMemory Memory { get; }

    /// <summary>
    /// The size of the file <paramref name="path"/> names, following symbolic links (FileInfo.Length is
    /// the link's own size on Unix; model caches such as Mesh's and huggingface_hub's are links to blobs).
    /// </summary>
    public static long FileLength(string path)
    {
        using var handle = File.OpenHandle(path);
        return RandomAccess.GetLength(handle);
    }

    /// <summary>
    /// <see cref="WeightMemory.Auto"/> as this machine takes it: <see cref="WeightMemory.HugePages"/> on
    /// Linux with transparent huge pages enabled (always or madvise), else <see cref="WeightMemory.Mapped"/>;
    /// other values as they are.
    /// </summary>
    public static WeightMemory Resolve(WeightMemory memory) =>
        memory != WeightMemory.Auto ? memory : Resolve(memory, OperatingSystem.IsLinux() ? TransparentHugePagesSetting() : null);

    /// <summary>
    /// <see cref="Resolve(WeightMemory)"/> for a given content of
    /// <c>/sys/kernel/mm/transparent_hugepage/enabled</c> (e.g. <c>always [madvise] never</c>; null
    /// where there is none).
    /// </summary>
    public static WeightMemory Resolve(WeightMemory memory, string? transparentHugePages) =>
        memory != WeightMemory.Auto ? memory
        : transparentHugePages is not null && (transparentHugePages.Contains("[always]", StringComparison.Ordinal) || transparentHugePages.Contains("[madvise]", StringComparison.Ordinal))
            ? WeightMemory.HugePages
            : WeightMemory.Mapped;

    /// <summary>The file's length in bytes; reads at <see cref="Pointer"/> must stay below it.</summary>
    public long Length { get; }

    /// <summary>The first byte of the file; valid until <see cref="Dispose"/>.</summary>
    public byte* Pointer { get; }

    /// <summary>Unmaps the file or frees its copy; idempotent. Pointers into it are invalid afterwards.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_view is null)
        {
            NativeMemory.AlignedFree(Pointer);
            return;
        }

        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map!.Dispose();
    }

    private static string? TransparentHugePagesSetting()
    {
        try
        {
            return File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The file read into memory from <see cref="AllocateHugePages"/>.</summary>
    private static byte* Copy(string path, long length, IProgress<long>? progress)
    {
        var memory = (byte*)AllocateHugePages((nuint)length);
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
            for (long done = 0; done < length;)
            {
                var read = RandomAccess.Read(handle, new Span<byte>(memory + done, (int)Math.Min(CopyChunkBytes, length - done)), done);
                if (read == 0)
                {
                    throw new ModelFormatException(path, "file", $"file ended at {done} of {length} bytes while it was read (was it truncated while loading?)");
                }

                done += read;
                progress?.Report(done);
            }

            return memory;
        }
        catch
        {
            NativeMemory.AlignedFree(memory);
            throw;
        }
    }

    /// <summary>
    /// <paramref name="bytes"/> of fresh native memory (rounded up to <see cref="HugePageBytes"/>), aligned to
    /// it and advised as huge pages before the first touch, so that Linux backs it with 2 MiB pages as it
    /// is faulted in (where the kernel refuses the advice it stays on small pages). Free it with
    /// <see cref="NativeMemory.AlignedFree"/>. Also what the benchmarks measure the memory wall on.
    /// </summary>
    public static void* AllocateHugePages(nuint bytes)
    {
        var size = (bytes + HugePageBytes - 1) / HugePageBytes * HugePageBytes;
        var memory = NativeMemory.AlignedAlloc(size, HugePageBytes);
        if (OperatingSystem.IsLinux())
        {
            _ = Madvise(memory, size, MadviseHugePage);
        }

        return memory;
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static partial int Madvise(void* address, nuint length, int advice);
}
