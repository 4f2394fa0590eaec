using System.Text;
using System.Text.Json;

namespace Mesh.Inference.Tests.Architectures;

/// <summary>Writes safetensors files (header JSON padded to 8 bytes, then the data) for the tests.</summary>
internal static class SafetensorsWriter
{
    public static void Write(string path, IEnumerable<(string Name, long[] Shape, string DType, byte[] Data)> tensors)
    {
        var header = new Dictionary<string, object> { ["__metadata__"] = new Dictionary<string, string> { ["format"] = "pt" } };
        var data = new MemoryStream();
        foreach (var (name, shape, dtype, bytes) in tensors)
        {
            header[name] = new { dtype, shape, data_offsets = new[] { data.Length, data.Length + bytes.Length } };
            data.Write(bytes);
        }

        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        var padded = json.Concat(Enumerable.Repeat((byte)' ', (8 - (json.Length % 8)) % 8)).ToArray();
        using var file = File.Create(path);
        file.Write(BitConverter.GetBytes((ulong)padded.Length));
        file.Write(padded);
        data.Position = 0;
        data.CopyTo(file);
    }
}
