using Mesh.Inference.Models;
using Mesh.Kernels.Driver;

namespace Mesh.Inference.Backends.Cuda;

/// <summary>
/// The device buffers one forward pass works in, sized for <see cref="Capacity"/> tokens and grown
/// (doubling) when a larger batch arrives.
/// </summary>
internal sealed class CudaScratch : IDisposable
{
    private readonly LlamaConfig _config;
    private readonly List<DeviceBuffer> _all = [];

    public CudaScratch(LlamaConfig config, int capacity)
    {
        _config = config;
        Capacity = capacity;
        var c = config;
        X = Float(capacity * c.Dim);
        Normed = Float(capacity * c.Dim);
        Q = Float(capacity * c.Dim);
        K = Float(capacity * c.KvDim);
        V = Float(capacity * c.KvDim);
        Attention = Float(capacity * c.Dim);
        Projected = Float(capacity * c.Dim);
        Gate = Float(capacity * c.HiddenDim);
        Up = Float(capacity * c.HiddenDim);
        Hidden = Float(capacity * c.HiddenDim);
        HalfOperand = Add(DeviceBuffer.Allocate<ushort>((long)capacity * Math.Max(c.Dim, c.HiddenDim)));
        Final = Float(capacity * c.Dim);
        Logits = Float((long)capacity * c.VocabSize);
        Tokens = Int(capacity);
        Positions = Int(capacity);
        Sequences = Int(capacity);
        Slots = Int(capacity);
        LogitRows = Int(capacity);
    }

    public int Capacity { get; }

    public DeviceBuffer X { get; }
    public DeviceBuffer Normed { get; }
    public DeviceBuffer Q { get; }
    public DeviceBuffer K { get; }
    public DeviceBuffer V { get; }
    public DeviceBuffer Attention { get; }
    public DeviceBuffer Projected { get; }
    public DeviceBuffer Gate { get; }
    public DeviceBuffer Up { get; }
    public DeviceBuffer Hidden { get; }

    /// <summary>bf16/f16 copy of a matmul's activations (the tensor-core kernel's A operand).</summary>
    public DeviceBuffer HalfOperand { get; }
    public DeviceBuffer Final { get; }
    public DeviceBuffer Logits { get; }
    public DeviceBuffer Tokens { get; }
    public DeviceBuffer Positions { get; }
    public DeviceBuffer Sequences { get; }
    public DeviceBuffer Slots { get; }
    public DeviceBuffer LogitRows { get; }

    /// <summary>Block tables [sequences][max blocks], grown on demand.</summary>
    public DeviceBuffer? BlockTables { get; private set; }

    /// <summary>Returns a table buffer with room for <paramref name="entries"/> int32s.</summary>
    public DeviceBuffer EnsureBlockTables(int entries)
    {
        if (BlockTables is null || BlockTables.Bytes < (ulong)entries * sizeof(int))
        {
            BlockTables?.Dispose();
            BlockTables = DeviceBuffer.Allocate<int>(Math.Max(entries, 256));
        }
        return BlockTables;
    }

    /// <summary>This scratch if it holds <paramref name="tokens"/>; else a larger one (this one disposed).</summary>
    public CudaScratch Ensure(int tokens)
    {
        if (tokens <= Capacity)
        {
            return this;
        }
        Dispose();
        return new CudaScratch(_config, Math.Max(tokens, Capacity * 2));
    }

    private DeviceBuffer Float(long count) => Add(DeviceBuffer.Allocate<float>(count));

    private DeviceBuffer Int(long count) => Add(DeviceBuffer.Allocate<int>(count));

    private DeviceBuffer Add(DeviceBuffer buffer)
    {
        _all.Add(buffer);
        return buffer;
    }

    public void Dispose()
    {
        foreach (var buffer in _all)
        {
            buffer.Dispose();
        }
        BlockTables?.Dispose();
    }
}
