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

    [Theory]
    [InlineData(23u, "tensor type IQ4_XS (an importance-matrix quantization) is not supported")]
    [InlineData(4u, "tensor type Q4_2 is not supported")]
    [InlineData(28u, "tensor type F64 is not supported")]
    [InlineData(99u, "tensor type 99 is not a GGML type")]
    public void AnUnsupportedTensorTypeIsNamed(uint type, string expected)
    {
        var bytes = File.ReadAllBytes(TestModels.Stories260KGguf);
        using (var gguf = GgufFile.Open(TestModels.Stories260KGguf))
        {
            // Rewrite the first tensor's type field (just before its offset).
            var name = System.Text.Encoding.UTF8.GetBytes(gguf.Tensors.Keys.First());
            var at = bytes.AsSpan().IndexOf(name) + name.Length;
            var dims = BitConverter.ToInt32(bytes, at);
            BitConverter.GetBytes(type).CopyTo(bytes, at + 4 + (8 * dims));
        }

        var path = Path.Combine(_folder, $"type-{type}.gguf");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.Load(path));
        Assert.EndsWith(".type", e.Field, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("Q4_K", e.Message, StringComparison.Ordinal); // the message lists what Mesh reads
    }

    [Fact]
    public void NotAGgufAndNotACheckpointIsRejected()
    {
        var path = Path.Combine(_folder, "noise.gguf");
        File.WriteAllBytes(path, [.. Enumerable.Range(0, 4096).Select(i => (byte)(i * 37))]);
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.Load(path));
        Assert.Contains("not a GGUF or llama2.c file", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GGUX", "starts with 'GGUX'")]
    [InlineData("tjgg", "pre-GGUF GGML format")]
    [InlineData("\0\0\0\0", "not 'GGUF'")]
    public void AGgufWithAWrongMagicSaysSoInsteadOfParsingItAsLlama2c(string magic, string expected)
    {
        // The bug this replaces: the bytes after the magic were read as a llama2.c header
        // ("n_heads: 0 must divide dim 1481983815").
        var bytes = File.ReadAllBytes(TestModels.Stories260KGguf);
        System.Text.Encoding.ASCII.GetBytes(magic).CopyTo(bytes, 0);
        var path = Path.Combine(_folder, "bad-magic.gguf");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.Load(path));
        Assert.Equal("magic", e.Field);
        Assert.Contains("not a GGUF or llama2.c file", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ACheckpointWithBytesBeyondItsWeightsIsNotTakenForLlama2c()
    {
        var path = Path.Combine(_folder, "stories260K.bin");
        File.WriteAllBytes(path, [.. File.ReadAllBytes(EngineHarness.Stories260KBin), .. new byte[64]]);
        File.Copy(TestModels.Stories260KTokenizer, Path.Combine(_folder, "tok512.bin"), overwrite: true);
        var e = Assert.Throws<ModelFormatException>(() => LlamaModel.Load(path));
        Assert.Contains("describes 1056540 bytes, but the file has 1056604", e.Message, StringComparison.Ordinal);
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
