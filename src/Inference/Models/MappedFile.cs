using System.IO.MemoryMappedFiles;

namespace Mesh.Inference.Models;

/// <summary>
/// A whole file mapped read-only into memory. Model weights are used straight from the mapping, so
/// loading costs no copy and the OS page cache shares them between processes.
/// </summary>
public sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private bool _disposed;

    /// <summary>Maps <paramref name="path"/> read-only; an empty file is a <see cref="ModelFormatException"/>.</summary>
    public MappedFile(string path)
    {
        Path = path;
        Length = FileLength(path);
        if (Length == 0)
        {
            throw new ModelFormatException(path, "file", "file is empty");
        }

        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        Pointer = p + _view.PointerOffset;
    }

    /// <summary>The mapped file's path.</summary>
    public string Path { get; }

    /// <summary>
    /// The size of the file <paramref name="path"/> names, following symbolic links (FileInfo.Length is
    /// the link's own size on Unix; model caches such as Mesh's and huggingface_hub's are links to blobs).
    /// </summary>
    public static long FileLength(string path)
    {
        using var handle = File.OpenHandle(path);
        return RandomAccess.GetLength(handle);
    }

    /// <summary>The file's length in bytes; reads at <see cref="Pointer"/> must stay below it.</summary>
    public long Length { get; }

    /// <summary>The first byte of the file; valid until <see cref="Dispose"/>.</summary>
    public byte* Pointer { get; }

    /// <summary>Unmaps the file; idempotent. Pointers into it are invalid afterwards.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
