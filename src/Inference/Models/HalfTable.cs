namespace Mesh.Inference.Models;

/// <summary>
/// f16 → f32 by table lookup (256 KiB, stays in cache), as GGML's ggml_table_f32_f16: .NET converts
/// Half in software, which in the Q8_0 inner loop (one scale per 32 weights) cost more than the
/// integer dot product itself.
/// </summary>
public static unsafe class HalfTable
{
    private static readonly float* Table = Build();

    /// <summary>
    /// The f32 value of the IEEE half whose bits are <paramref name="bits"/> (exact, NaN and infinities kept).
    /// </summary>
    public static float ToSingle(ushort bits) => Table[bits];

    private static float* Build()
    {
        var table = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(65536 * sizeof(float), 64);
        for (var i = 0; i < 65536; i++)
        {
            table[i] = (float)BitConverter.UInt16BitsToHalf((ushort)i);
        }

        return table;
    }
}
