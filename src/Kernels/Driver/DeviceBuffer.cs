using System.Runtime.InteropServices;

namespace Mesh.Kernels.Driver;

/// <summary>
/// A device memory allocation (<c>cuMemAlloc</c>), freed when disposed or finalised. Copies check
/// sizes on the host before calling the driver, so a wrong length is an ArgumentException, not a
/// fault on the GPU.
/// </summary>
public sealed unsafe class DeviceBuffer : SafeHandle
{
    private DeviceBuffer(ulong bytes) : base(0, ownsHandle: true) => Bytes = bytes;

    /// <inheritdoc/>
    public override bool IsInvalid => handle == 0;

    /// <summary>Size of the allocation in bytes.</summary>
    public ulong Bytes { get; }

    /// <summary>The device address (a <c>CUdeviceptr</c>), as kernels receive it.</summary>
    public ulong Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return (ulong)handle;
        }
    }

    /// <summary>Allocates <paramref name="bytes"/> bytes (at least 1) of device memory in the current context.</summary>
    public static DeviceBuffer Allocate(ulong bytes)
    {
        ArgumentOutOfRangeException.ThrowIfZero(bytes);
        ulong raw;
        var result = NativeMethods.cuMemAlloc_v2(&raw, (nuint)bytes);
        if (result != CuResult.Success)
        {
            throw Cu.Error(result, $"cuMemAlloc_v2({bytes} bytes)");
        }
        var buffer = new DeviceBuffer(bytes);
        buffer.SetHandle((nint)raw);
        return buffer;
    }

    /// <summary>Allocates room for <paramref name="count"/> elements of <typeparamref name="T"/>.</summary>
    public static DeviceBuffer Allocate<T>(long count) where T : unmanaged =>
        Allocate(checked((ulong)count * (ulong)sizeof(T)));

    /// <summary>Copies host data to the start of the buffer (synchronous).</summary>
    public void CopyFrom<T>(ReadOnlySpan<T> source) where T : unmanaged
    {
        var bytes = CheckLength<T>(source.Length);
        fixed (T* p = source)
        {
            Cu.Check(NativeMethods.cuMemcpyHtoD_v2(Pointer, p, (nuint)bytes), nameof(NativeMethods.cuMemcpyHtoD_v2));
        }
    }

    /// <summary>Copies the start of the buffer to host memory (synchronous).</summary>
    public void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        var bytes = CheckLength<T>(destination.Length);
        fixed (T* p = destination)
        {
            Cu.Check(NativeMethods.cuMemcpyDtoH_v2(p, Pointer, (nuint)bytes), nameof(NativeMethods.cuMemcpyDtoH_v2));
        }
    }

    /// <summary>
    /// Queues a copy of host data on <paramref name="stream"/>, ordered with the kernels around it.
    /// From pageable memory the driver stages the bytes before returning, so the span may be reused
    /// at once (the copy is then not truly asynchronous, but it is ordered).
    /// </summary>
    public void CopyFromAsync<T>(ReadOnlySpan<T> source, CudaStream stream) where T : unmanaged
    {
        var bytes = CheckLength<T>(source.Length);
        fixed (T* p = source)
        {
            Cu.Check(NativeMethods.cuMemcpyHtoDAsync_v2(Pointer, p, (nuint)bytes, stream.Handle), nameof(NativeMethods.cuMemcpyHtoDAsync_v2));
        }
    }

    /// <summary>Copies host memory the caller keeps pinned until the stream passes this point.</summary>
    public void CopyFromAsync(void* source, ulong bytes, CudaStream stream)
    {
        CheckBytes(bytes);
        Cu.Check(NativeMethods.cuMemcpyHtoDAsync_v2(Pointer, source, (nuint)bytes, stream.Handle), nameof(NativeMethods.cuMemcpyHtoDAsync_v2));
    }

    /// <summary>Copies to host memory the caller keeps pinned until the stream passes this point.</summary>
    public void CopyToAsync(void* destination, ulong bytes, CudaStream stream)
    {
        CheckBytes(bytes);
        Cu.Check(NativeMethods.cuMemcpyDtoHAsync_v2(destination, Pointer, (nuint)bytes, stream.Handle), nameof(NativeMethods.cuMemcpyDtoHAsync_v2));
    }

    /// <summary>Device-to-device copy of <paramref name="bytes"/> bytes from the start of <paramref name="source"/>.</summary>
    public void CopyFrom(DeviceBuffer source, ulong bytes, CudaStream? stream = null)
    {
        CheckBytes(bytes);
        if (bytes > source.Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), $"the source holds {source.Bytes} bytes, {bytes} were asked for");
        }
        Cu.Check(stream is null
            ? NativeMethods.cuMemcpyDtoD_v2(Pointer, source.Pointer, (nuint)bytes)
            : NativeMethods.cuMemcpyDtoDAsync_v2(Pointer, source.Pointer, (nuint)bytes, stream.Handle), nameof(NativeMethods.cuMemcpyDtoD_v2));
    }

    /// <summary>Sets every byte to <paramref name="value"/>.</summary>
    public void Fill(byte value) =>
        Cu.Check(NativeMethods.cuMemsetD8_v2(Pointer, value, (nuint)Bytes), nameof(NativeMethods.cuMemsetD8_v2));

    /// <summary>Sets every 32-bit word to <paramref name="bits"/> (e.g. a NaN pattern to poison outputs).</summary>
    public void Fill32(uint bits, CudaStream? stream = null) =>
        Cu.Check(stream is null
            ? NativeMethods.cuMemsetD32_v2(Pointer, bits, (nuint)(Bytes / 4))
            : NativeMethods.cuMemsetD32Async(Pointer, bits, (nuint)(Bytes / 4), stream.Handle), nameof(NativeMethods.cuMemsetD32_v2));

    private ulong CheckLength<T>(int count) where T : unmanaged
    {
        var bytes = (ulong)count * (ulong)sizeof(T);
        CheckBytes(bytes);
        return bytes;
    }

    private void CheckBytes(ulong bytes)
    {
        if (bytes > Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), $"the device buffer holds {Bytes} bytes, {bytes} were asked for");
        }
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => NativeMethods.cuMemFree_v2((ulong)handle) == CuResult.Success;
}
