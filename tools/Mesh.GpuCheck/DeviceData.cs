using Mesh.Kernels.Driver;

namespace Mesh.GpuCheck;

/// <summary>Random inputs and poisoned outputs: the check's rules (fresh data every run, NaN-poisoned outputs).</summary>
internal static class DeviceData
{
    /// <summary>A quiet NaN bit pattern written over outputs before each run; any left means an unwritten element.</summary>
    public const uint Poison = 0x7FC0DEAD;

    public static float[] RandomFloats(Random random, long count, float scale = 1f)
    {
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1) * scale;
        }
        return values;
    }

    public static DeviceBuffer Upload<T>(T[] values) where T : unmanaged
    {
        var buffer = DeviceBuffer.Allocate<T>(values.Length);
        buffer.CopyFrom<T>(values);
        return buffer;
    }

    public static DeviceBuffer Poisoned(long floats)
    {
        var buffer = DeviceBuffer.Allocate<float>(floats);
        buffer.Fill32(Poison);
        return buffer;
    }

    public static float[] Download(DeviceBuffer buffer, long floats)
    {
        var values = new float[floats];
        buffer.CopyTo<float>(values);
        return values;
    }

    /// <summary>‖out − ref‖ / ‖ref‖ over all elements; NaN anywhere in <paramref name="output"/> gives NaN.</summary>
    public static double RelativeError(ReadOnlySpan<float> output, ReadOnlySpan<float> reference)
    {
        double num = 0, den = 0;
        for (var i = 0; i < reference.Length; i++)
        {
            var d = (double)output[i] - reference[i];
            num += d * d;
            den += (double)reference[i] * reference[i];
        }
        return Math.Sqrt(num / Math.Max(den, 1e-300));
    }

    public static bool AllWritten(ReadOnlySpan<float> output)
    {
        foreach (var v in output)
        {
            if (float.IsNaN(v))
            {
                return false;
            }
        }
        return true;
    }

    public static ushort[] ToBf16(float[] values) => values.Select(Mesh.Inference.Models.Dequantize.SingleToBFloat16).ToArray();

    public static float[] FromBf16(ushort[] values) => values.Select(v => BitConverter.UInt32BitsToSingle((uint)v << 16)).ToArray();

    public static Half[] ToF16(float[] values) => values.Select(v => (Half)v).ToArray();
}
