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

    public KernelArguments Clear()
    {
        _count = 0;
        return this;
    }

    public KernelArguments Add(DeviceBuffer buffer) => AddRaw(buffer.Pointer);

    public KernelArguments Add(ulong value) => AddRaw(value);

    public KernelArguments Add(uint value) => AddRaw(value);

    public KernelArguments Add(int value) => AddRaw(unchecked((uint)value));

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

    public void Dispose()
    {
        NativeMemory.Free(_slots);
        NativeMemory.Free(_pointers);
    }
}
