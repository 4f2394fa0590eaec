using Mesh.Kernels.Driver;
using Mesh.Kernels.Launch;
using Mesh.Kernels.Reference;
using static Mesh.GpuCheck.DeviceData;

namespace Mesh.GpuCheck;

/// <summary>Element-wise kernels, RMSNorm, RoPE and the embedding gather.</summary>
internal sealed partial class KernelChecks
{
    private void ElementWise()
    {
        const int n = 1 << 20;
        var y = RandomFloats(_random, n);
        var x = RandomFloats(_random, n);
        using (var dy = Upload(y))
        using (var dx = Upload(x))
        {
            _kernels.ResidualAdd(dy, dx, n, null);
            var expected = (float[])y.Clone();
            ReferenceKernels.ResidualAdd(expected, x);
            Record("residual_add_f32", $"n={n}", Download(dy, n), expected, 1e-6);
        }

        var gate = RandomFloats(_random, n, 8);
        var up = RandomFloats(_random, n);
        using (var dg = Upload(gate))
        using (var du = Upload(up))
        using (var dout = Poisoned(n))
        {
            _kernels.SwiGlu(dout, dg, du, n, null);
            var expected = new float[n];
            ReferenceKernels.SwiGlu(expected, gate, up);
            Record("swiglu_f32", $"n={n}", Download(dout, n), expected, 1e-5);
        }

        foreach (var format in new[] { WeightFormat.BF16, WeightFormat.F16 })
        {
            using var dx = Upload(x);
            using var dout = DeviceBuffer.Allocate<ushort>(n);
            dout.Fill32(Poison);
            _kernels.Convert(dout, format, dx, n, null);
            var bits = new ushort[n];
            dout.CopyTo<ushort>(bits);
            var got = format == WeightFormat.BF16 ? FromBf16(bits) : bits.Select(b => (float)BitConverter.UInt16BitsToHalf(b)).ToArray();
            var expected = format == WeightFormat.BF16 ? FromBf16(ToBf16(x)) : x.Select(v => (float)(Half)v).ToArray();
            Record(format == WeightFormat.BF16 ? "convert_f32_bf16" : "convert_f32_f16", $"n={n}", got, expected, 0);
        }
    }

    private void RmsNorm()
    {
        const int rows = 37, dim = 2048;
        var x = RandomFloats(_random, rows * dim, 3);
        var w = RandomFloats(_random, dim);
        int[] pick = [36, 0, 5];
        using var dx = Upload(x);
        using var dw = Upload(w);
        using var dout = Poisoned(rows * dim);
        _kernels.RmsNorm(dout, dx, dw, null, rows, dim, 1e-5f, null);
        var expected = new float[rows * dim];
        ReferenceKernels.RmsNorm(expected, x, w, rows, dim, 1e-5f);
        Record("rmsnorm_f32", $"{rows}x{dim}", Download(dout, rows * dim), expected, 1e-5);

        using var dpick = Upload(pick);
        using var dsel = Poisoned(pick.Length * dim);
        _kernels.RmsNorm(dsel, dx, dw, dpick, pick.Length, dim, 1e-5f, null);
        var selected = new float[pick.Length * dim];
        ReferenceKernels.RmsNorm(selected, x, w, pick.Length, dim, 1e-5f, pick);
        Record("rmsnorm_f32 (row index)", $"{pick.Length} of {rows}x{dim}", Download(dsel, pick.Length * dim), selected, 1e-5);
    }

    private void Rope()
    {
        const int tokens = 9, heads = 32, headDim = 64, context = 4096;
        var width = heads * headDim;
        var (cos, sin) = ReferenceKernels.RopeTables(headDim, context, 500000f);
        var v = RandomFloats(_random, tokens * width);
        var positions = Enumerable.Range(0, tokens).Select(_ => _random.Next(context)).ToArray();
        using var dv = Upload(v);
        using var dp = Upload(positions);
        using var dc = Upload(cos);
        using var ds = Upload(sin);
        _kernels.Rope(dv, dp, dc, ds, tokens, width, headDim, null);
        var expected = (float[])v.Clone();
        ReferenceKernels.Rope(expected, positions, cos, sin, width, headDim);
        Record("rope_f32", $"{tokens}x{heads}x{headDim}", Download(dv, tokens * width), expected, 1e-6);
    }

    private void Embedding()
    {
        const int vocab = 1000, dim = 512, tokens = 13;
        var ids = Enumerable.Range(0, tokens).Select(_ => _random.Next(vocab)).ToArray();
        var values = RandomFloats(_random, vocab * dim, 2);
        foreach (var format in Enum.GetValues<WeightFormat>())
        {
            var bytes = Encode(format, values, vocab, dim);
            var table = WeightDecoding.Decode(format, bytes, vocab, dim);
            var expected = ids.SelectMany(t => table.AsSpan(t * dim, dim).ToArray()).ToArray();
            using var dids = Upload(ids);
            using var dout = Poisoned(tokens * dim);
            var (data, scales) = UploadWeights(format, bytes, vocab, dim);
            using (data)
            using (scales)
            {
                _kernels.Embedding(dout, format, data, scales, dids, tokens, dim, null);
                Record($"embedding_{Name(format)}", $"{tokens} of {vocab}x{dim}", Download(dout, tokens * dim), expected, 0);
            }
        }
    }
}
