using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests;

/// <summary>Model files are untrusted input: bad ones fail with an error naming the file and the field.</summary>
public sealed class ModelFileErrorTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-badmodels-").FullName;

    public static TheoryData<int> TruncationPoints => new() { 3, 10, 23, 100, 5000, 200_000, 1_000_000 };

    [Theory]
    [MemberData(nameof(TruncationPoints))]
    public void ATruncatedGgufNamesTheFileAndTheField(int length)
    {
        var path = Copy(TestModels.Stories260KGguf, length);
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.Load(path));
        Assert.Equal(path, e.FilePath);
        Assert.False(string.IsNullOrEmpty(e.Field));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(27)]
    [InlineData(1000)]
    [InlineData(600_000)]
    public void ATruncatedLlama2cCheckpointNamesTheFileAndTheTensor(int length)
    {
        var path = Copy(EngineHarness.Stories260KBin, length, ".bin");
        File.Copy(TestModels.Stories260KTokenizer, Path.Combine(_folder, "tok512.bin"), overwrite: true);
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.Load(path));
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void AnUnsupportedTensorTypeIsNamed()
    {
        var bytes = File.ReadAllBytes(TestModels.Stories260KGguf);
        using (var gguf = GgufFile.Open(TestModels.Stories260KGguf))
        {
            // Rewrite the first tensor's type field (just before its offset) to Q4_0 (2).
            var name = System.Text.Encoding.UTF8.GetBytes(gguf.Tensors.Keys.First());
            var at = bytes.AsSpan().IndexOf(name) + name.Length;
            var dims = BitConverter.ToInt32(bytes, at);
            BitConverter.GetBytes(2u).CopyTo(bytes, at + 4 + (8 * dims));
        }

        var path = Path.Combine(_folder, "q4.gguf");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.Load(path));
        Assert.EndsWith(".type", e.Field, StringComparison.Ordinal);
        Assert.Contains("not supported", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NotAGgufAndNotACheckpointIsRejected()
    {
        var path = Path.Combine(_folder, "noise.gguf");
        File.WriteAllBytes(path, [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 37))]);
        Assert.ThrowsAny<ModelFormatException>(() => LlamaModel.Load(path));
    }

    [Fact]
    public void TheTinyRandomLlama2GgufLoadsWithItsF16Weights()
    {
        using var model = LlamaModel.Load(TestModels.TinyRandomGguf);
        Assert.Equal(32000, model.Config.VocabSize);
        Assert.Equal("F16", model.WeightType);
        Assert.Equal(1, model.Config.Layers);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Copy(string source, int length, string extension = ".gguf")
    {
        var path = Path.Combine(_folder, $"cut-{length}{extension}");
        using var input = File.OpenRead(source);
        using var output = File.Create(path);
        var buffer = new byte[length];
        var read = input.Read(buffer, 0, length);
        output.Write(buffer, 0, read);
        return path;
    }
}
