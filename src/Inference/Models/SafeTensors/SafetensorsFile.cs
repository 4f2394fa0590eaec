using System.Buffers.Binary;
using System.Text.Json;

namespace Mesh.Inference.Models.SafeTensors;

/// <summary>
/// A memory-mapped <c>.safetensors</c> file (Hugging Face's format: an 8-byte little-endian header
/// length N, N bytes of JSON mapping each tensor name to {dtype, shape, data_offsets}, then the raw
/// little-endian data). The header is untrusted input: its length, every offset and every
/// dtype/shape/size relation is checked before any tensor is handed out, and each violation is a
/// <see cref="ModelFormatException"/> naming the file and the tensor.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>The largest header accepted (the reference implementation's limit): 100 MB.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly Dictionary<string, int> ElementBytes = new(StringComparer.Ordinal)
    {
        ["F64"] = 8, ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["F8_E4M3"] = 1, ["F8_E5M2"] = 1,
        ["I64"] = 8, ["I32"] = 4, ["I16"] = 2, ["I8"] = 1, ["U64"] = 8, ["U32"] = 4, ["U16"] = 2, ["U8"] = 1, ["BOOL"] = 1,
    };

    private readonly MappedFile _file;
    private readonly long _dataStart;

    private SafetensorsFile(string path, WeightMemory memory, IProgress<long>? progress)
    {
        _file = new MappedFile(path, memory, progress);
        try
        {
            if (_file.Length < 8)
            {
                throw Error("header", $"file is {_file.Length} bytes, shorter than the 8-byte header length");
            }

            var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(_file.Pointer, 8));
            if (headerLength > (ulong)Math.Min(MaxHeaderBytes, _file.Length - 8))
            {
                throw Error("header", $"header length {headerLength} exceeds the file ({_file.Length} bytes) or the {MaxHeaderBytes}-byte limit");
            }

            _dataStart = 8 + (long)headerLength;
            DataLength = _file.Length - _dataStart;
            (Tensors, Metadata) = ParseHeader(new ReadOnlySpan<byte>(_file.Pointer + 8, (int)headerLength));
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    /// <summary>The path the file was opened from.</summary>
    public string Path => _file.Path;

    /// <summary>Bytes after the header.</summary>
    public long DataLength { get; }

    /// <summary>The tensors by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsTensor> Tensors { get; }

    /// <summary>The optional <c>__metadata__</c> string map.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates <paramref name="path"/>; the mapping lives until <see cref="Dispose"/>.</summary>
    public static SafetensorsFile Open(string path) => Open(path, WeightMemory.Mapped);

    /// <summary>
    /// Opens and validates <paramref name="path"/> with its bytes where <paramref name="memory"/> says
    /// (<see cref="MappedFile"/>; <paramref name="progress"/> receives the bytes copied so far); they live
    /// until <see cref="Dispose"/>.
    /// </summary>
    public static SafetensorsFile Open(string path, WeightMemory memory, IProgress<long>? progress = null) =>
        File.Exists(path) ? new SafetensorsFile(path, memory, progress) : throw new FileNotFoundException($"safetensors file not found: {path}", path);

    /// <summary>A pointer to <paramref name="tensor"/>'s first byte in the mapping (range checked at open).</summary>
    public nint GetData(SafetensorsTensor tensor) => (nint)(_file.Pointer + _dataStart + tensor.Begin);

    /// <summary>Unmaps the file; pointers from <see cref="GetData"/> are invalid afterwards.</summary>
    public void Dispose() => _file.Dispose();

    internal ModelFormatException Error(string field, string message) => new(_file.Path, field, message);

    private (Dictionary<string, SafetensorsTensor>, Dictionary<string, string>) ParseHeader(ReadOnlySpan<byte> json)
    {
        var tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Error("header", $"is not valid JSON: {e.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw Error("header", "must be a JSON object");
            }

            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__")
                {
                    if (entry.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw Error("__metadata__", "must be an object of strings");
                    }

                    foreach (var m in entry.Value.EnumerateObject())
                    {
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : throw Error("__metadata__", $"'{m.Name}' must be a string");
                    }

                    continue;
                }

                if (!tensors.TryAdd(entry.Name, ParseTensor(entry.Name, entry.Value)))
                {
                    throw Error(entry.Name, "tensor appears twice in the header");
                }
            }
        }

        return (tensors, metadata);
    }

    private SafetensorsTensor ParseTensor(string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out var shape) || shape.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array || offsets.GetArrayLength() != 2)
        {
            throw Error(name, "needs \"dtype\" (string), \"shape\" (array) and \"data_offsets\" ([begin, end])");
        }

        var type = dtype.GetString()!;
        if (!ElementBytes.TryGetValue(type, out var elementBytes))
        {
            throw Error(name, $"unknown dtype '{type}'");
        }

        var dims = shape.EnumerateArray().Select(d => d.TryGetInt64(out var v) && v >= 0 ? v : throw Error(name, $"shape entry {d} is not a non-negative integer")).ToArray();
        long begin = Offset(offsets[0]), end = Offset(offsets[1]);
        if (begin > end || end > DataLength)
        {
            throw Error(name, $"data_offsets [{begin}, {end}] lie outside the {DataLength} data bytes of the file (truncated?)");
        }

        long bytes;
        try
        {
            bytes = checked(dims.Aggregate(1L, (a, b) => checked(a * b)) * elementBytes);
        }
        catch (OverflowException)
        {
            throw Error(name, $"shape [{string.Join(", ", dims)}] is too large");
        }

        if (bytes != end - begin)
        {
            throw Error(name, $"{type} shape [{string.Join(", ", dims)}] needs {bytes} bytes but data_offsets give {end - begin}");
        }

        return new SafetensorsTensor(name, type, dims, begin, end);

        long Offset(JsonElement e) => e.TryGetInt64(out var v) && v >= 0 ? v : throw Error(name, $"data offset {e} is not a non-negative integer");
    }
}
