using System.Runtime.InteropServices;

namespace Mesh.Retrieval.Native;

/// <summary>
/// Bytes in unmanaged memory (an index image can exceed the 2 GiB a managed array holds). Read it as a
/// stream or in spans of at most <see cref="int.MaxValue"/> bytes; freed on dispose.
/// </summary>
internal sealed unsafe class NativeBuffer : IDisposable
{
    private byte* _data;

    public NativeBuffer(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        _data = (byte*)NativeMemory.Alloc((nuint)Math.Max(1, length));
    }

    /// <summary>Bytes held.</summary>
    public long Length { get; }

    public byte* Pointer => _data != null ? _data : throw new ObjectDisposedException(nameof(NativeBuffer));

    /// <summary>A read-only stream over the bytes; valid while the buffer is not disposed.</summary>
    public Stream OpenRead() => new UnmanagedMemoryStream(Pointer, Length);

    public void Dispose()
    {
        if (_data != null)
        {
            NativeMemory.Free(_data);
            _data = null;
        }
    }
}
