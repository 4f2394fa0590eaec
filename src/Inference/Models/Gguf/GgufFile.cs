namespace Mesh.Inference.Models.Gguf;

/// <summary>
/// A GGUF v2/v3 file, memory-mapped: the header, metadata and tensor directory are parsed with bounds
/// checks on every read; tensor data stays in the mapping and is handed out as pointers into it, so
/// a multi-gigabyte model costs no copy and no managed heap. Every parse failure is a
/// <see cref="ModelFormatException"/> naming the file and the field.
/// </summary>
public sealed unsafe partial class GgufFile : IDisposable
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

    private GgufFile(string path, WeightMemory memory, IProgress<long>? progress)
    {
        Path = path;
        var length = MappedFile.FileLength(path);
        if (length < 24)
        {
            throw new ModelFormatException(path, "header", $"file is {length} bytes, too short for a GGUF header");
        }

        _file = new MappedFile(path, memory, progress);
        _base = _file.Pointer;
        // The length of the bytes actually mapped or copied: the file may have changed since it was measured above.
        _length = _file.Length;
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

    /// <summary>Opens and parses <paramref name="path"/>, memory-mapped; the mapping lives until <see cref="Dispose"/>.</summary>
    public static GgufFile Open(string path) => Open(path, WeightMemory.Mapped);

    /// <summary>
    /// Opens and parses <paramref name="path"/> with its bytes where <paramref name="memory"/> says
    /// (<see cref="MappedFile"/>; <paramref name="progress"/> receives the bytes copied so far); they live
    /// until <see cref="Dispose"/>.
    /// </summary>
    public static GgufFile Open(string path, WeightMemory memory, IProgress<long>? progress = null)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"model file not found: {path}", path);
        }

        return new GgufFile(path, memory, progress);
    }

    /// <summary>The tensor named <paramref name="name"/>, or an error naming it.</summary>
    public GgufTensorInfo GetTensor(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw Error(name, "tensor is missing");

    /// <summary>A pointer to a tensor's data inside the mapping; valid until <see cref="Dispose"/>.</summary>
    public nint GetTensorData(GgufTensorInfo tensor) => (nint)(_base + _dataStart + tensor.Offset);

    /// <summary>Unmaps the file; tensor pointers from <see cref="GetTensorData"/> are invalid afterwards.</summary>
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
}
