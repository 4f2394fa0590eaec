using System.Text;

namespace Mesh.Inference.Models.Gguf;

/// <summary>
/// A GGUF v2/v3 file, memory-mapped: the header, metadata and tensor directory are parsed with bounds
/// checks on every read; tensor data stays in the mapping and is handed out as pointers into it, so
/// a multi-gigabyte model costs no copy and no managed heap. Every parse failure is a
/// <see cref="ModelFormatException"/> naming the file and the field.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    private const uint Magic = 0x46554747; // "GGUF" little-endian
    private const int DefaultAlignment = 32;
    // Generous sanity limits so that a corrupt count cannot make us allocate the machine away.
    private const ulong MaxCount = 1UL << 24;
    private const ulong MaxStringBytes = 1UL << 26;

    private readonly MappedFile _file;
    private readonly byte* _base;
    private readonly long _length;
    private readonly Dictionary<string, object> _metadata = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GgufTensorInfo> _tensors = new(StringComparer.Ordinal);
    private readonly long _dataStart;

    private GgufFile(string path)
    {
        Path = path;
        var length = new FileInfo(path).Length;
        if (length < 24)
        {
            throw new ModelFormatException(path, "header", $"file is {length} bytes, too short for a GGUF header");
        }

        _file = new MappedFile(path);
        _base = _file.Pointer;
        _length = length;
        try
        {
            var reader = new Reader(this);
            if (reader.U32("magic") != Magic)
            {
                throw Error("magic", "not a GGUF file (bad magic)");
            }

            Version = reader.U32("version");
            if (Version is not (2 or 3))
            {
                throw Error("version", $"GGUF version {Version} is not supported (2 or 3 expected)");
            }

            var tensorCount = reader.Count("tensor_count");
            var kvCount = reader.Count("metadata_kv_count");
            for (ulong i = 0; i < kvCount; i++)
            {
                var key = reader.String($"metadata[{i}].key");
                var type = (GgufValueType)reader.U32($"{key}.type");
                _metadata[key] = reader.Value(key, type);
            }

            var infos = new List<(string Name, long[] Dims, uint Type, ulong Offset)>();
            for (ulong i = 0; i < tensorCount; i++)
            {
                var name = reader.String($"tensor[{i}].name");
                var nDims = reader.U32($"{name}.n_dims");
                if (nDims is 0 or > 4)
                {
                    throw Error($"{name}.n_dims", $"{nDims} dimensions (1 to 4 expected)");
                }

                var dims = new long[nDims];
                for (var d = 0; d < nDims; d++)
                {
                    var dim = reader.U64($"{name}.dims[{d}]");
                    if (dim is 0 or > (1UL << 40))
                    {
                        throw Error($"{name}.dims[{d}]", $"dimension {dim} out of range");
                    }

                    dims[d] = (long)dim;
                }

                infos.Add((name, dims, reader.U32($"{name}.type"), reader.U64($"{name}.offset")));
            }

            Alignment = TryGetUInt32("general.alignment", out var alignment) ? (int)alignment : DefaultAlignment;
            if (Alignment <= 0 || (Alignment & (Alignment - 1)) != 0)
            {
                throw Error("general.alignment", $"{Alignment} is not a power of two");
            }

            _dataStart = (reader.Position + Alignment - 1) / Alignment * Alignment;
            foreach (var (name, dims, rawType, offset) in infos)
            {
                if (!GgmlTypeInfo.IsSupported(rawType))
                {
                    throw Error($"{name}.type", UnsupportedType(rawType));
                }

                var type = (GgmlType)rawType;
                // Each dimension is at most 2^40 and a tensor cannot hold more elements than the file
                // has bits, so anything beyond the file's length is refused before it can overflow.
                var elements = 1L;
                foreach (var dim in dims)
                {
                    if (dim > (_length * 8) / elements)
                    {
                        throw Error($"{name}.dims", $"shape [{string.Join(", ", dims)}] holds more elements than the {_length}-byte file can store");
                    }

                    elements *= dim;
                }

                if (elements % GgmlTypeInfo.BlockSize(type) != 0 || dims[0] % GgmlTypeInfo.BlockSize(type) != 0)
                {
                    throw Error($"{name}.dims", $"row length {dims[0]} is not a multiple of the {type} block size");
                }

                var bytes = GgmlTypeInfo.ByteSize(type, elements);
                if (offset % (ulong)Alignment != 0 || offset > (ulong)_length || _dataStart + (long)offset + bytes > _length)
                {
                    throw Error($"{name}.offset", $"tensor data [{offset}, +{bytes}) lies outside the file (truncated?)");
                }

                if (!_tensors.TryAdd(name, new GgufTensorInfo(name, dims, type, (long)offset, bytes)))
                {
                    throw Error(name, "tensor name appears twice");
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The path the file was opened from.</summary>
    public string Path { get; }

    /// <summary>The GGUF format version (2 or 3).</summary>
    public uint Version { get; }

    /// <summary>Alignment of tensor data (general.alignment, default 32).</summary>
    public int Alignment { get; }

    /// <summary>Every metadata key, in no particular order.</summary>
    public IEnumerable<string> MetadataKeys => _metadata.Keys;

    /// <summary>The tensor directory.</summary>
    public IReadOnlyDictionary<string, GgufTensorInfo> Tensors => _tensors;

    /// <summary>Opens and parses <paramref name="path"/>; the mapping lives until <see cref="Dispose"/>.</summary>
    public static GgufFile Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"model file not found: {path}", path);
        }

        return new GgufFile(path);
    }

    public bool Contains(string key) => _metadata.ContainsKey(key);

    public string GetString(string key) => Get<string>(key, "a string");

    public uint GetUInt32(string key) => TryGetUInt32(key, out var v) ? v : throw Missing(key, "an unsigned integer");

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

    public IReadOnlyList<string> GetStringArray(string key) => Get<string[]>(key, "an array of strings");

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

    /// <summary>The tensor named <paramref name="name"/>, or an error naming it.</summary>
    public GgufTensorInfo GetTensor(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw Error(name, "tensor is missing");

    /// <summary>A pointer to a tensor's data inside the mapping; valid until <see cref="Dispose"/>.</summary>
    public nint GetTensorData(GgufTensorInfo tensor) => (nint)(_base + _dataStart + tensor.Offset);

    public void Dispose() => _file.Dispose();

    internal ModelFormatException Error(string field, string message) => new(Path, field, message);

    /// <summary>Why a tensor type cannot be loaded, naming it as GGML does.</summary>
    private static string UnsupportedType(uint rawType)
    {
        var supported = string.Join(", ", GgmlTypeInfo.Supported);
        if (!Enum.IsDefined((GgmlType)rawType))
        {
            return $"tensor type {rawType} is not a GGML type (Mesh reads {supported})";
        }

        var name = GgmlTypeInfo.Name(rawType);
        return GgmlTypeInfo.IsIQuant(rawType)
            ? $"tensor type {name} (an importance-matrix quantization) is not supported; use a file quantized to one of {supported} (e.g. Q4_K_M)"
            : $"tensor type {name} is not supported (Mesh reads {supported})";
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

    /// <summary>Sequential little-endian reads over the mapping that never step past its end.</summary>
    private struct Reader(GgufFile file)
    {
        public long Position { get; private set; }

        public uint U32(string field) => BitConverter.ToUInt32(Take(4, field));

        public ulong U64(string field) => BitConverter.ToUInt64(Take(8, field));

        public ulong Count(string field)
        {
            var n = U64(field);
            return n <= MaxCount ? n : throw file.Error(field, $"count {n} is implausibly large (corrupt file?)");
        }

        public string String(string field)
        {
            var n = U64(field + ".length");
            if (n > MaxStringBytes)
            {
                throw file.Error(field, $"string length {n} is implausibly large (corrupt file?)");
            }

            if ((long)n > file._length - Position)
            {
                throw file.Error(field, $"string of {n} bytes runs past the end of the file at byte {file._length} (truncated?)");
            }

            return Encoding.UTF8.GetString(Take((int)n, field));
        }

        public object Value(string key, GgufValueType type) => type switch
        {
            GgufValueType.UInt8 => Take(1, key)[0],
            GgufValueType.Int8 => (sbyte)Take(1, key)[0],
            GgufValueType.UInt16 => BitConverter.ToUInt16(Take(2, key)),
            GgufValueType.Int16 => BitConverter.ToInt16(Take(2, key)),
            GgufValueType.UInt32 => U32(key),
            GgufValueType.Int32 => BitConverter.ToInt32(Take(4, key)),
            GgufValueType.Float32 => BitConverter.ToSingle(Take(4, key)),
            GgufValueType.Bool => Take(1, key)[0] switch
            {
                0 => false,
                1 => true,
                var b => throw file.Error(key, $"bool value {b} is neither 0 nor 1"),
            },
            GgufValueType.String => String(key),
            GgufValueType.UInt64 => U64(key),
            GgufValueType.Int64 => BitConverter.ToInt64(Take(8, key)),
            GgufValueType.Float64 => BitConverter.ToDouble(Take(8, key)),
            GgufValueType.Array => Array(key),
            _ => throw file.Error(key, $"unknown metadata value type {(uint)type}"),
        };

        private object Array(string key)
        {
            var elementType = (GgufValueType)U32(key + ".element_type");
            var n = (int)Count(key + ".length");
            // Every element takes at least one byte (a string eight), so a count the rest of the file
            // cannot hold is refused before anything of its size is allocated.
            var minBytes = elementType switch
            {
                GgufValueType.String or GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
                GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
                GgufValueType.UInt16 or GgufValueType.Int16 => 2,
                _ => 1,
            };
            if ((long)n * minBytes > file._length - Position)
            {
                throw file.Error(key, $"array of {n} elements cannot fit in the {file._length - Position} bytes left in the file (truncated or corrupt)");
            }

            return elementType switch
            {
                GgufValueType.UInt8 => Take(n, key).ToArray(),
                GgufValueType.Int8 => Cast<sbyte>(n, 1, key),
                GgufValueType.UInt16 => Cast<ushort>(n, 2, key),
                GgufValueType.Int16 => Cast<short>(n, 2, key),
                GgufValueType.UInt32 => Cast<uint>(n, 4, key),
                GgufValueType.Int32 => Cast<int>(n, 4, key),
                GgufValueType.Float32 => Cast<float>(n, 4, key),
                GgufValueType.UInt64 => Cast<ulong>(n, 8, key),
                GgufValueType.Int64 => Cast<long>(n, 8, key),
                GgufValueType.Float64 => Cast<double>(n, 8, key),
                GgufValueType.Bool => Take(n, key).ToArray().Select(b => b != 0).ToArray(),
                GgufValueType.String => Strings(n, key),
                _ => throw file.Error(key, $"array element type {(uint)elementType} is not supported"),
            };
        }

        private string[] Strings(int n, string key)
        {
            var result = new string[n];
            for (var i = 0; i < n; i++)
            {
                result[i] = String($"{key}[{i}]");
            }

            return result;
        }

        private T[] Cast<T>(int n, int size, string key)
            where T : unmanaged
        {
            var bytes = Take(checked(n * size), key);
            return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes).ToArray();
        }

        private ReadOnlySpan<byte> Take(int count, string field)
        {
            if (count < 0 || Position + count > file._length)
            {
                throw file.Error(field, $"file ends at byte {file._length}, {count} more bytes needed at {Position} (truncated?)");
            }

            var span = new ReadOnlySpan<byte>(file._base + Position, count);
            Position += count;
            return span;
        }
    }
}
