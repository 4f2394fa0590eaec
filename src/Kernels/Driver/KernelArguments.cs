using System.Runtime.InteropServices;

namespace Mesh.Kernels.Driver;

/// <summary>
/// The <c>void**</c> argument array <c>cuLaunchKernel</c> takes: one 8-byte slot per kernel
/// parameter, in declaration order. The driver copies the values at launch, so one instance can be
/// refilled and reused (also while capturing a graph).
/// </summary>
public sealed unsafe class KernelArguments : IDisposable
{
    private readonly ulong* _slots;
    private readonly void** _pointers;
    private readonly int _capacity;
    private int _count;

    /// <summary>Allocates room for <paramref name="capacity"/> arguments (native memory, freed by <see cref="Dispose"/>).</summary>
    public KernelArguments(int capacity = 16)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _capacity = capacity;
        _slots = (ulong*)NativeMemory.AllocZeroed((nuint)capacity, sizeof(ulong));
        _pointers = (void**)NativeMemory.AllocZeroed((nuint)capacity, (nuint)sizeof(void*));
        for (var i = 0; i < capacity; i++)
        {
            _pointers[i] = _slots + i;
        }
    }

    /// <summary>Number of arguments added since the last <see cref="Clear"/>.</summary>
    public int Count => _count;

    internal void** Pointers => _pointers;

    /// <summary>Forgets the arguments added so far, for refilling before the next launch; returns this instance.</summary>
    public KernelArguments Clear()
    {
        _count = 0;
        return this;
    }

    /// <summary>Appends a device pointer (<c>T*</c> parameter); returns this instance.</summary>
    /// <exception cref="InvalidOperationException">The capacity is full.</exception>
    public KernelArguments Add(DeviceBuffer buffer) => AddRaw(buffer.Pointer);

    /// <summary>Appends a 64-bit value (<c>u64</c> or a raw device address).</summary>
    public KernelArguments Add(ulong value) => AddRaw(value);

    /// <summary>Appends a 32-bit unsigned value (<c>u32</c>).</summary>
    public KernelArguments Add(uint value) => AddRaw(value);

    /// <summary>Appends a 32-bit signed value (<c>s32</c>), bit for bit.</summary>
    public KernelArguments Add(int value) => AddRaw(unchecked((uint)value));

    /// <summary>Appends an f32 value, bit for bit.</summary>
    public KernelArguments Add(float value) => AddRaw(BitConverter.SingleToUInt32Bits(value));

    private KernelArguments AddRaw(ulong bits)
    {
        if (_count == _capacity)
        {
            throw new InvalidOperationException($"KernelArguments holds at most {_capacity} arguments.");
        }
        _slots[_count++] = bits;
        return this;
    }

    /// <summary>Frees the native argument arrays.</summary>
    public void Dispose()
    {
        NativeMemory.Free(_slots);
        NativeMemory.Free(_pointers);
    }
}
