using System.Runtime.InteropServices;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Kernels.Launch;
using Mesh.Kernels.Reference;

namespace Mesh.GpuCheck;

/// <summary>
/// A Llama-shaped model with random weights in native memory: the GPU check's stand-in for a real
/// checkpoint (none travels to the GPU machine). Values are small (|w| ≤ 0.125) so activations stay
/// finite through every layer. <see cref="GgmlType.Q4_K"/> and <see cref="GgmlType.Q5_K"/> stand for
/// llama.cpp's Q4_K_M and Q5_K_M mixes: that type everywhere but ffn_down and the classifier, which
/// are Q6_K.
/// </summary>
internal sealed unsafe class RandomModel : IDisposable
{
    private readonly List<nint> _allocations = [];

    public RandomModel(LlamaConfig config, GgmlType type, int seed)
    {
        Config = config;
        var random = new Random(seed);
        WeightMatrix Matrix(string name, int rows, int cols) =>
            Allocate(name, type is GgmlType.Q4_K or GgmlType.Q5_K && (name.EndsWith("ffn_down", StringComparison.Ordinal) || name == "output") ? GgmlType.Q6_K : type, rows, cols, random);
        float[] Ones(int n) => Enumerable.Repeat(1f, n).ToArray();
        var layers = Enumerable.Range(0, config.Layers).Select(l => new LayerWeights(
            Ones(config.Dim),
            Matrix($"blk.{l}.attn_q", config.Dim, config.Dim),
            Matrix($"blk.{l}.attn_k", config.KvDim, config.Dim),
            Matrix($"blk.{l}.attn_v", config.KvDim, config.Dim),
            Matrix($"blk.{l}.attn_output", config.Dim, config.Dim),
            Ones(config.Dim),
            Matrix($"blk.{l}.ffn_gate", config.HiddenDim, config.Dim),
            Matrix($"blk.{l}.ffn_down", config.Dim, config.HiddenDim),
            Matrix($"blk.{l}.ffn_up", config.HiddenDim, config.Dim))).ToList();
        Weights = new LlamaWeights(Matrix("token_embd", config.VocabSize, config.Dim), layers, Ones(config.Dim), Matrix("output", config.VocabSize, config.Dim));
    }

    public LlamaConfig Config { get; }

    public LlamaWeights Weights { get; }

    private WeightMatrix Allocate(string name, GgmlType type, int rows, int cols, Random random)
    {
        var bytes = GgmlTypeInfo.ByteSize(type, (long)rows * cols);
        var data = (byte*)NativeMemory.Alloc((nuint)bytes);
        _allocations.Add((nint)data);
        var seed = (uint)random.Next();
        switch (type)
        {
            case GgmlType.BF16:
                // sign, exponent 2^-7..2^-4, random mantissa: a cheap LCG keeps a 1B model's fill to seconds
                var bf = (ushort*)data;
                for (long i = 0; i < (long)rows * cols; i++)
                {
                    seed = (seed * 1664525) + 1013904223;
                    bf[i] = (ushort)(0x3C00 + ((seed >> 16) & 0x1FF) | ((seed >> 15) & 0x8000));
                }
                break;
            case GgmlType.F32:
                var f = (float*)data;
                for (long i = 0; i < (long)rows * cols; i++)
                {
                    f[i] = (float)((random.NextDouble() * 2) - 1) * 0.1f;
                }
                break;
            case GgmlType.Q8_0:
                var row = new float[cols];
                for (var r = 0; r < rows; r++)
                {
                    for (var c = 0; c < cols; c++)
                    {
                        row[c] = (float)((random.NextDouble() * 2) - 1) * 0.1f;
                    }
                    Dequantize.SingleToQ8(row, new Span<byte>(data + GgmlTypeInfo.ByteSize(type, (long)r * cols), (int)GgmlTypeInfo.ByteSize(type, cols)));
                }
                break;
            case GgmlType.Q4_0 or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K:
                // Random quants with block scales shrunk so that values stay within about ±0.1.
                var format = type switch { GgmlType.Q4_0 => BlockQuantFormat.Q4_0, GgmlType.Q4_K => BlockQuantFormat.Q4_K, GgmlType.Q5_K => BlockQuantFormat.Q5_K, _ => BlockQuantFormat.Q6_K };
                QuantMatVecReference.RandomWeights(format, rows, cols, random, scale: 0.03).CopyTo(new Span<byte>(data, checked((int)bytes)));
                break;
            default:
                throw new NotSupportedException($"random {type} weights");
        }
        return new WeightMatrix(name, type, rows, cols, (nint)data);
    }

    public void Dispose()
    {
        foreach (var p in _allocations)
        {
            NativeMemory.Free((void*)p);
        }
    }
}
