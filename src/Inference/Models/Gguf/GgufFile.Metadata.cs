namespace Mesh.Inference.Models.Gguf;

// Typed access to the metadata. Values are kept as the file typed them; the getters accept the widths
// converters actually write (an integer key may be UINT8…INT64) and fail with a ModelFormatException
// naming the key when it is missing, of another type or out of range.
public sealed partial class GgufFile
{
    /// <summary>Whether the metadata has <paramref name="key"/> (of any type).</summary>
    public bool Contains(string key) => _metadata.ContainsKey(key);

    /// <summary>
    /// The string value of <paramref name="key"/>; missing or not a string is a <see cref="ModelFormatException"/>.
    /// </summary>
    public string GetString(string key) => Get<string>(key, "a string");

    /// <summary>
    /// The integer value of <paramref name="key"/> (any width, see <see cref="TryGetUInt32"/>); missing is a <see cref="ModelFormatException"/>.
    /// </summary>
    public uint GetUInt32(string key) => TryGetUInt32(key, out var v) ? v : throw Missing(key, "an unsigned integer");

    /// <summary>
    /// The FLOAT32 (or FLOAT64, narrowed) value of <paramref name="key"/>; missing or another type is a <see cref="ModelFormatException"/>.
    /// </summary>
    public float GetFloat32(string key) => TryGetFloat32(key, out var v) ? v : throw Missing(key, "a float");

    /// <summary>Reads any integer metadata value that fits in a uint (converters differ in the width they write).</summary>
    public bool TryGetUInt32(string key, out uint value)
    {
        value = 0;
        if (!_metadata.TryGetValue(key, out var raw))
        {
            return false;
        }

        long v = raw switch
        {
            byte b => b,
            sbyte sb => sb,
            ushort us => us,
            short s => s,
            uint u => u,
            int i => i,
            ulong ul => ul > uint.MaxValue ? -1 : (long)ul,
            long l => l,
            _ => throw Error(key, $"expected an integer, found {Describe(raw)}"),
        };
        if (v is < 0 or > uint.MaxValue)
        {
            throw Error(key, $"value {v} out of range");
        }

        value = (uint)v;
        return true;
    }

    /// <summary>
    /// The FLOAT32 (or FLOAT64, narrowed) value of <paramref name="key"/>, or false when absent; a value of
    /// another type is a <see cref="ModelFormatException"/>, not false.
    /// </summary>
    public bool TryGetFloat32(string key, out float value)
    {
        value = 0;
        if (!_metadata.TryGetValue(key, out var raw))
        {
            return false;
        }

        value = raw switch
        {
            float f => f,
            double d => (float)d,
            _ => throw Error(key, $"expected a float, found {Describe(raw)}"),
        };
        return true;
    }

    /// <summary>
    /// The BOOL value of <paramref name="key"/>, or false when absent; another type is a <see cref="ModelFormatException"/>.
    /// </summary>
    public bool TryGetBool(string key, out bool value)
    {
        value = false;
        if (!_metadata.TryGetValue(key, out var raw))
        {
            return false;
        }

        value = raw is bool b ? b : throw Error(key, $"expected a bool, found {Describe(raw)}");
        return true;
    }

    /// <summary>
    /// The array of strings at <paramref name="key"/> (e.g. <c>tokenizer.ggml.tokens</c>); missing or another type is a <see cref="ModelFormatException"/>.
    /// </summary>
    public IReadOnlyList<string> GetStringArray(string key) => Get<string[]>(key, "an array of strings");

    /// <summary>
    /// The FLOAT32 array at <paramref name="key"/> (e.g. <c>tokenizer.ggml.scores</c>); missing or another type is a <see cref="ModelFormatException"/>.
    /// </summary>
    public float[] GetFloat32Array(string key) => Get<float[]>(key, "an array of float32");

    /// <summary>An integer array, whatever integer width the writer chose.</summary>
    public int[] GetInt32Array(string key)
    {
        if (!_metadata.TryGetValue(key, out var raw))
        {
            throw Missing(key, "an array of integers");
        }

        return raw switch
        {
            int[] ints => ints,
            uint[] uints => Array.ConvertAll(uints, u => u <= int.MaxValue ? (int)u : throw Error(key, $"value {u} out of range")),
            byte[] bytes => Array.ConvertAll(bytes, b => (int)b),
            sbyte[] sbytes => Array.ConvertAll(sbytes, b => (int)b),
            short[] shorts => Array.ConvertAll(shorts, s => (int)s),
            ushort[] ushorts => Array.ConvertAll(ushorts, s => (int)s),
            long[] longs => Array.ConvertAll(longs, l => l is >= int.MinValue and <= int.MaxValue ? (int)l : throw Error(key, $"value {l} out of range")),
            _ => throw Error(key, $"expected an array of integers, found {Describe(raw)}"),
        };
    }

    private ModelFormatException Missing(string key, string what) => Error(key, $"metadata key is missing (expected {what})");

    private T Get<T>(string key, string what)
        where T : class
    {
        if (!_metadata.TryGetValue(key, out var raw))
        {
            throw Missing(key, what);
        }

        return raw as T ?? throw Error(key, $"expected {what}, found {Describe(raw)}");
    }

    private static string Describe(object value) => value switch
    {
        Array a => $"an array of {a.GetType().GetElementType()!.Name} ({a.Length} items)",
        _ => $"a {value.GetType().Name}",
    };
}
