using System.Runtime.InteropServices;

namespace Mesh.Kernels.Layout;

/// <summary>
/// GGML's Q8_0 packs 32 values per 34-byte block (an f16 scale, then 32 int8 quants), which leaves
/// the quants 2 bytes off 16-byte alignment. The GPU keeps the same numbers split in two arrays,
/// quants [rows][cols] int8 and scales [rows][cols/32] f16, so the matvec kernel streams quants with
/// aligned 16-byte loads. value = scale[r][c/32] · quant[r][c], exactly as the CPU dequantizes.
/// </summary>
public static class Q8Layout
{
    /// <summary>Values per Q8_0 block.</summary>
    public const int BlockValues = 32;
    /// <summary>Bytes per GGML Q8_0 block: a 2-byte f16 scale and 32 int8 quants.</summary>
    public const int BlockBytes = 34;

    /// <summary>Splits <paramref name="rows"/>×<paramref name="cols"/> GGML Q8_0 data into quants and scales.</summary>
    public static void Split(ReadOnlySpan<byte> ggml, int rows, int cols, Span<sbyte> quants, Span<Half> scales)
    {
        if (cols <= 0 || cols % BlockValues != 0)
        {
            throw new ArgumentException($"Q8_0 rows must be a positive multiple of {BlockValues} values; got {cols}", nameof(cols));
        }
        var blocks = (long)rows * cols / BlockValues;
        if (ggml.Length < blocks * BlockBytes)
        {
            throw new ArgumentException($"Q8_0 data holds {ggml.Length} bytes; {rows}x{cols} needs {blocks * BlockBytes}", nameof(ggml));
        }
        if (quants.Length < (long)rows * cols || scales.Length < blocks)
        {
            throw new ArgumentException("destination spans are too short for the matrix");
        }
        for (var b = 0; b < blocks; b++)
        {
            var block = ggml.Slice(b * BlockBytes, BlockBytes);
            scales[b] = MemoryMarshal.Read<Half>(block);
            MemoryMarshal.Cast<byte, sbyte>(block[2..]).CopyTo(quants.Slice(b * BlockValues, BlockValues));
        }
    }

    /// <summary>Dequantizes element (<paramref name="row"/>, <paramref name="col"/>) of the split form.</summary>
    public static float Value(ReadOnlySpan<sbyte> quants, ReadOnlySpan<Half> scales, int cols, int row, int col) =>
        (float)scales[(row * (cols / BlockValues)) + (col / BlockValues)] * quants[(row * cols) + col];
}
