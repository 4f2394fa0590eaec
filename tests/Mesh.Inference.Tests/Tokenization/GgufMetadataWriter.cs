using System.Text;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>Writes a GGUF v3 file with metadata and no tensors, for tokenizer metadata edge cases.</summary>
internal static class GgufMetadataWriter
{
    public static void Write(string path, IReadOnlyList<(string Key, object Value)> metadata)
    {
        using var writer = new BinaryWriter(File.Create(path), Encoding.UTF8);
        writer.Write(0x46554747u); // "GGUF"
        writer.Write(3u);
        writer.Write(0UL); // tensors
        writer.Write((ulong)metadata.Count);
        foreach (var (key, value) in metadata)
        {
            WriteString(writer, key);
            switch (value)
            {
                case string s:
                    writer.Write(8u);
                    WriteString(writer, s);
                    break;
                case uint u:
                    writer.Write(4u);
                    writer.Write(u);
                    break;
                case bool b:
                    writer.Write(7u);
                    writer.Write(b);
                    break;
                case string[] strings:
                    WriteArrayHeader(writer, 8u, strings.Length);
                    Array.ForEach(strings, s => WriteString(writer, s));
                    break;
                case float[] floats:
                    WriteArrayHeader(writer, 6u, floats.Length);
                    Array.ForEach(floats, writer.Write);
                    break;
                case int[] ints:
                    WriteArrayHeader(writer, 5u, ints.Length);
                    Array.ForEach(ints, writer.Write);
                    break;
                default:
                    throw new ArgumentException($"unsupported metadata value {value.GetType()}", nameof(metadata));
            }
        }
    }

    private static void WriteArrayHeader(BinaryWriter writer, uint elementType, int count)
    {
        writer.Write(9u);
        writer.Write(elementType);
        writer.Write((ulong)count);
    }

    private static void WriteString(BinaryWriter writer, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }
}
