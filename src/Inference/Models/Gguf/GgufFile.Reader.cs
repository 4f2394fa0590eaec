using System.Text;

namespace Mesh.Inference.Models.Gguf;

// The bounds-checked reader the constructor parses the header, metadata and tensor directory with.
public sealed unsafe partial class GgufFile
{
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
