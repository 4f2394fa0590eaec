using Mesh.Kernels.Driver;
using Mesh.Kernels.Launch;
using Mesh.Kernels.Layout;
using Mesh.Kernels.Reference;
using static Mesh.GpuCheck.DeviceData;

namespace Mesh.GpuCheck;

/// <summary>Matvecs (dense and GGML block-quantized) and the prefill GEMMs (FMA over quantized blocks, int8 and bf16/f16 tensor cores, wgmma).</summary>
internal sealed partial class KernelChecks
{
    private void MatVec(WeightFormat format, int n, int k, int rows)
    {
        var values = RandomFloats(_random, (long)n * k);
        var bytes = Encode(format, values, n, k);
        var w = WeightDecoding.Decode(format, bytes, n, k);
        var x = RandomFloats(_random, (long)rows * k);
        var (data, scales) = UploadWeights(format, bytes, n, k);
        using (data)
        using (scales)
        using (var dx = Upload(x))
        using (var dy = Poisoned((long)rows * n))
        {
            _kernels.MatVec(dy, format, data, scales, dx, rows, n, k, null);
            var expected = new float[rows * n];
            ReferenceKernels.MatMul(expected, w, x, rows, n, k);
            Record($"matvec_{Name(format)}", $"{rows}x{k} · {n}x{k}", Download(dy, (long)rows * n), expected, 1e-5);
        }
    }

    /// <summary>A GGML block-quantized matvec against its operation-for-operation CPU emulation (only fma contraction order may differ: 1e-5).</summary>
    private void MatVecQuant(BlockQuantFormat format, int n, int k, int rows)
    {
        var weights = QuantMatVecReference.RandomWeights(format, n, k, _random);
        var x = RandomFloats(_random, (long)rows * k);
        using var dw = Upload(weights);
        using var dx = Upload(x);
        using var dy = Poisoned((long)rows * n);
        _kernels.MatVecQuant(dy, format, dw, dx, rows, n, k, null);
        var expected = new float[rows * n];
        QuantMatVecReference.MatVec(format, weights, x, expected, rows, n, k);
        Record(BlockQuantFormats.MatVecEntry(format), $"{rows}x{k} · {n}x{k}", Download(dy, (long)rows * n), expected, 1e-5);
    }

    /// <summary>The quantized prefill GEMM against its CPU emulation (same dequantized weights and fma order: exact, 1e-6 for safety).</summary>
    private void MatMulQuant(BlockQuantFormat format, int m, int n, int k)
    {
        var weights = QuantMatVecReference.RandomWeights(format, n, k, _random);
        var a = RandomFloats(_random, (long)m * k);
        using var dw = Upload(weights);
        using var da = Upload(a);
        using var dc = Poisoned((long)m * n);
        _kernels.MatMulQuant(dc, format, dw, da, m, n, k, null);
        var expected = new float[m * n];
        QuantMatMulReference.MatMul(format, weights, a, expected, m, n, k);
        Record(BlockQuantFormats.MatMulEntry(format), $"{m}x{k} · {n}x{k}", Download(dc, (long)m * n), expected, 1e-6);
    }

    private void MatMul(WeightFormat format, int m, int n, int k)
    {
        var a = RandomFloats(_random, (long)m * k);
        var b = RandomFloats(_random, (long)n * k);
        float[] ar, br;
        DeviceBuffer da, db;
        if (format == WeightFormat.BF16)
        {
            var a16 = ToBf16(a);
            var b16 = ToBf16(b);
            (ar, br, da, db) = (FromBf16(a16), FromBf16(b16), Upload(a16), Upload(b16));
        }
        else
        {
            var a16 = ToF16(a);
            var b16 = ToF16(b);
            (ar, br, da, db) = (a16.Select(h => (float)h).ToArray(), b16.Select(h => (float)h).ToArray(), Upload(a16), Upload(b16));
        }
        using (da)
        using (db)
        using (var dc = Poisoned((long)m * n))
        {
            _kernels.MatMul(dc, format, da, db, m, n, k, null);
            var expected = new float[m * n];
            ReferenceKernels.MatMul(expected, br, ar, m, n, k);
            Record($"matmul_{Name(format)}", $"{m}x{n}x{k}", Download(dc, (long)m * n), expected, 1e-5, "operands rounded before the reference");
        }
    }

    private void MatMulHopper(int m, int n, int k)
    {
        var a16 = ToBf16(RandomFloats(_random, (long)m * k));
        var b16 = ToBf16(RandomFloats(_random, (long)n * k));
        using var da = Upload(a16);
        using var db = Upload(b16);
        using var dc = Poisoned((long)m * n);
        _kernels.MatMulHopper(dc, da, db, m, n, k, null);
        var expected = new float[m * n];
        ReferenceKernels.MatMul(expected, FromBf16(b16), FromBf16(a16), m, n, k);
        Record("matmul_wgmma_bf16", $"{m}x{n}x{k}", Download(dc, (long)m * n), expected, 1e-5, "wgmma + TMA, sm_90a");
    }

    /// <summary>
    /// The activation quantizer bit for bit (quants and f16-rounded scales), and the int8
    /// tensor-core GEMM over <paramref name="format"/> (Q8_0 split as uploaded, Q4_0 blocks as
    /// stored) against its exact CPU form (integer block sums, one fma per block in order; 1e-6 for
    /// safety) on the quants the device produced.
    /// </summary>
    private void MatMulInt8(BlockQuantFormat format, int m, int n, int k)
    {
        var weights = QuantMatVecReference.RandomWeights(format, n, k, _random);
        var a = RandomFloats(_random, (long)m * k);
        var weightQuants = new sbyte[(long)n * k];
        var weightScales = new Half[weightQuants.Length / 32];
        if (format == BlockQuantFormat.Q8_0)
        {
            Q8Layout.Split(weights, n, k, weightQuants, weightScales);
        }
        else
        {
            Int8MatMulReference.SplitQ4_0(weights, n, k, weightQuants, weightScales);
        }
        var quants = new sbyte[(long)m * k];
        var scales = new float[quants.Length / 32];
        Int8MatMulReference.Quantize(a, m, k, quants, scales);
        var expected = new float[(long)m * n];
        Int8MatMulReference.MatMul(weightQuants, weightScales, quants, scales, expected, m, n, k);

        using var dwq = format == BlockQuantFormat.Q8_0 ? Upload(weightQuants) : Upload(weights);
        using var dws = Upload(weightScales);
        using var da = Upload(a);
        using var dq = DeviceBuffer.Allocate<sbyte>(quants.Length);
        dq.Fill32(0x7F7F7F7F);
        using var dd = Poisoned(scales.Length);
        using var dc = Poisoned((long)m * n);
        _kernels.QuantizeQ8(dq, dd, da, m, k, null);
        if (format == BlockQuantFormat.Q8_0)
        {
            _kernels.MatMulInt8(dc, dwq, dws, dq, dd, m, n, k, null);
        }
        else
        {
            _kernels.MatMulInt8Q4(dc, dwq, dq, dd, m, n, k, null);
        }
        var gotQuants = new sbyte[quants.Length];
        dq.CopyTo<sbyte>(gotQuants);
        Record("quantize_q8_f32", $"{m}x{k}", gotQuants.Select(q => (float)q).ToArray(), quants.Select(q => (float)q).ToArray(), 0, "int8 quants");
        Record("quantize_q8_f32", $"{m}x{k}", Download(dd, scales.Length), scales, 0, "block scales");
        var entry = format == BlockQuantFormat.Q8_0 ? "matmul_q8_0_s8" : "matmul_q4_0_s8";
        Record(entry, $"{m}x{k} · {n}x{k}", Download(dc, (long)m * n), expected, 1e-6, "int8 mma.sync m16n8k32, per-block scales");
    }
}
