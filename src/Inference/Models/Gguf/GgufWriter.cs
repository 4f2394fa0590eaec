using System.Text;

namespace Mesh.Inference.Models.Gguf;

/// <summary>
/// Writes GGUF v3 files: metadata and f32 tensors stored as F32, F16, BF16 or Q8_0. Tests and
/// benchmarks use it to make models of any shape and weight type; <see cref="LlamaGgufExporter"/>
/// uses it to write a loaded model back out.
/// </summary>
public sealed class GgufWriter
{
    private const int Alignment = 32;
    private readonly List<(string Key, GgufValueType Type, object Value)> _metadata = [];
    private readonly List<(string Name, long[] Dims, GgmlType Type, Func<float[]> Data)> _tensors = [];

    /// <summary>Adds a string value (UTF-8).</summary>
    public GgufWriter Add(string key, string value) => AddRaw(key, GgufValueType.String, value);

    /// <summary>Adds a UINT32 value.</summary>
    public GgufWriter Add(string key, uint value) => AddRaw(key, GgufValueType.UInt32, value);

    /// <summary>Adds a FLOAT32 value.</summary>
    public GgufWriter Add(string key, float value) => AddRaw(key, GgufValueType.Float32, value);

    /// <summary>Adds a BOOL value.</summary>
    public GgufWriter Add(string key, bool value) => AddRaw(key, GgufValueType.Bool, value);

    /// <summary>Adds an array of strings.</summary>
    public GgufWriter Add(string key, IReadOnlyList<string> values) => AddRaw(key, GgufValueType.Array, values);

    /// <summary>Adds an array of FLOAT32.</summary>
    public GgufWriter Add(string key, float[] values) => AddRaw(key, GgufValueType.Array, values);

    /// <summary>Adds an array of INT32.</summary>
    public GgufWriter Add(string key, int[] values) => AddRaw(key, GgufValueType.Array, values);

    /// <summary>
    /// Adds a tensor of shape [rows, cols] (GGML dims [cols, rows]; one row is written as a vector
    /// [cols] unless <paramref name="matrix"/>); <paramref name="data"/> is called when the file is
    /// written, so huge models need not be held in memory twice.
    /// </summary>
    public GgufWriter AddTensor(string name, int rows, int cols, GgmlType type, Func<float[]> data, bool matrix = false)
    {
        _tensors.Add((name, rows == 1 && !matrix ? [cols] : [cols, rows], type, data));
        return this;
    }

    /// <summary>
    /// Writes the file to <paramref name="path"/> (replacing it): header, metadata in the order added,
    /// tensor directory, then each tensor's data converted to its type, 32-byte aligned.
    /// </summary>
    public void Write(string path)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var w = new BinaryWriter(stream, Encoding.UTF8);
        w.Write(0x46554747u);
        w.Write(3u);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count + 1);
        WriteString(w, "general.alignment");
        w.Write((uint)GgufValueType.UInt32);
        w.Write((uint)Alignment);
        foreach (var (key, type, value) in _metadata)
        {
            WriteString(w, key);
            w.Write((uint)type);
            WriteValue(w, type, value);
        }

        long offset = 0;
        foreach (var (name, dims, type, _) in _tensors)
        {
            WriteString(w, name);
            w.Write((uint)dims.Length);
            foreach (var d in dims)
            {
                w.Write((ulong)d);
            }

            w.Write((uint)type);
            w.Write((ulong)offset);
            offset = Align(offset + GgmlTypeInfo.ByteSize(type, dims.Aggregate(1L, (a, b) => a * b)));
        }

        Pad(w);
        foreach (var (_, dims, type, data) in _tensors)
        {
            var values = data();
            if (values.LongLength != dims.Aggregate(1L, (a, b) => a * b))
            {
                throw new InvalidOperationException("tensor data does not match its shape");
            }

            w.Write(Encode(values, type));
            Pad(w);
        }
    }

    /// <summary>Encodes f32 values in a GGML storage type.</summary>
    public static byte[] Encode(float[] values, GgmlType type)
    {
        switch (type)
        {
            case GgmlType.F32:
                return System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
            case GgmlType.F16:
                return System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.Select(v => (Half)v).ToArray().AsSpan()).ToArray();
            case GgmlType.BF16:
                return System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.Select(Dequantize.SingleToBFloat16).ToArray().AsSpan()).ToArray();
            case GgmlType.Q8_0:
                var bytes = new byte[values.Length / Dequantize.Q8BlockSize * Dequantize.Q8BlockBytes];
                Dequantize.SingleToQ8(values, bytes);
                return bytes;
            default:
                throw new NotSupportedException($"tensor type {type}");
        }
    }

    private GgufWriter AddRaw(string key, GgufValueType type, object value)
    {
        _metadata.Add((key, type, value));
        return this;
    }

    private static long Align(long offset) => (offset + Alignment - 1) / Alignment * Alignment;

    private static void Pad(BinaryWriter w)
    {
        w.Flush();
        var position = w.BaseStream.Position;
        for (var i = position; i < Align(position); i++)
        {
            w.Write((byte)0);
        }
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufValueType type, object value)
    {
        switch (value)
        {
            case string s:
                WriteString(w, s);
                break;
            case uint u:
                w.Write(u);
                break;
            case float f:
                w.Write(f);
                break;
            case bool b:
                w.Write((byte)(b ? 1 : 0));
                break;
            case IReadOnlyList<string> strings:
                w.Write((uint)GgufValueType.String);
                w.Write((ulong)strings.Count);
                foreach (var s in strings)
                {
                    WriteString(w, s);
                }

                break;
            case float[] floats:
                w.Write((uint)GgufValueType.Float32);
                w.Write((ulong)floats.Length);
                foreach (var f in floats)
                {
                    w.Write(f);
                }

                break;
            case int[] ints:
                w.Write((uint)GgufValueType.Int32);
                w.Write((ulong)ints.Length);
                foreach (var i in ints)
                {
                    w.Write(i);
                }

                break;
            default:
                throw new NotSupportedException($"metadata value of type {type}");
        }
    }
}
