using System.Runtime.InteropServices;
using Mesh.Kernels;
using Mesh.Kernels.Driver;

namespace Mesh.Inference.Backends.Cuda;

/// <summary>
/// The device end of <see cref="IDeviceSamplingBackend"/>: uploads a step's
/// <see cref="DeviceSamplingBatch"/> (masks, penalty pairs, sampling rows), runs
/// logits_process_f32 and sample_f32 on the logits where the forward pass left them, and copies
/// back one int32 token per row. Buffers grow as needed and are reused across steps.
/// </summary>
internal sealed class CudaSampling : IDisposable
{
    private DeviceBuffer? _rows;
    private DeviceBuffer? _masks;
    private DeviceBuffer? _offsets;
    private DeviceBuffer? _tokens;
    private DeviceBuffer? _counts;
    private DeviceBuffer? _penalties;
    private DeviceBuffer? _sampled;

    /// <summary>Processes and samples the first <c>sampling.Count</c> rows of <paramref name="logits"/>; waits for the tokens.</summary>
    public void Run(CudaKernels kernels, DeviceBuffer logits, DeviceSamplingBatch sampling, CudaStream stream, Span<int> tokens)
    {
        var rows = sampling.Count;
        var vocab = sampling.VocabSize;
        Upload(ref _rows, sampling.Rows, stream);
        Upload(ref _masks, sampling.Masks, stream);
        Upload(ref _offsets, sampling.PenaltyOffsets, stream);
        Upload(ref _tokens, sampling.PenaltyTokens, stream);
        Upload(ref _counts, sampling.PenaltyCounts, stream);
        Upload(ref _penalties, sampling.Penalties, stream);
        Ensure(ref _sampled, (ulong)rows * sizeof(int));
        kernels.ProcessLogits(logits, _masks!, _offsets!, _tokens!, _counts!, _penalties!, rows, vocab, stream);
        kernels.Sample(_sampled!, logits, _rows!, rows, vocab, stream);
        stream.Synchronize();
        _sampled!.CopyTo<int>(tokens[..rows]);
    }

    /// <summary>Copies <paramref name="values"/> into <paramref name="buffer"/>, reallocated when too small (never empty).</summary>
    private static void Upload<T>(ref DeviceBuffer? buffer, ReadOnlySpan<T> values, CudaStream stream) where T : unmanaged
    {
        var target = Ensure(ref buffer, (ulong)Math.Max(1, values.Length) * (ulong)Marshal.SizeOf<T>());
        if (!values.IsEmpty)
        {
            target.CopyFromAsync(values, stream);
        }
    }

    private static DeviceBuffer Ensure(ref DeviceBuffer? buffer, ulong bytes)
    {
        if (buffer is null || buffer.Bytes < bytes)
        {
            var grown = Math.Max(bytes, (buffer?.Bytes ?? 0) * 2);
            buffer?.Dispose();
            buffer = DeviceBuffer.Allocate(grown);
        }
        return buffer;
    }

    public void Dispose()
    {
        foreach (var buffer in new[] { _rows, _masks, _offsets, _tokens, _counts, _penalties, _sampled })
        {
            buffer?.Dispose();
        }
    }
}
