using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Models;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests;

/// <summary>
/// Weights on huge pages (<see cref="WeightMemory.HugePages"/>, the default where Linux offers them)
/// are the file's bytes exactly, so a model computes the same logits, bit for bit, as from the mapping;
/// and <see cref="WeightMemory.Auto"/> follows the kernel's transparent huge page setting.
/// </summary>
public sealed class WeightMemoryTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-weight-memory-").FullName;

    [Theory]
    [InlineData(1)]
    [InlineData(4095)]
    [InlineData((2 << 20) + 17)] // past one huge page, not a multiple of the copy's rounding
    public unsafe void TheCopyHoldsTheFilesBytes(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        var path = Path.Combine(_folder, $"file-{length}.bin");
        File.WriteAllBytes(path, bytes);
        var reported = new List<long>();

        using var copy = new MappedFile(path, WeightMemory.HugePages, new ListProgress(reported));
        using var mapped = new MappedFile(path, WeightMemory.Mapped);

        Assert.Equal(WeightMemory.HugePages, copy.Memory);
        Assert.Equal(WeightMemory.Mapped, mapped.Memory);
        Assert.Equal(length, copy.Length);
        Assert.True(new ReadOnlySpan<byte>(copy.Pointer, length).SequenceEqual(bytes));
        Assert.True(new ReadOnlySpan<byte>(mapped.Pointer, length).SequenceEqual(bytes));
        Assert.Equal(length, reported[^1]);
        Assert.Equal(0, (long)copy.Pointer % MappedFile.HugePageBytes);
    }

    [Theory]
    [InlineData(WeightMemory.HugePages)]
    [InlineData(WeightMemory.Mapped)]
    public void AnEmptyFileIsRefusedEitherWay(WeightMemory memory)
    {
        var path = Path.Combine(_folder, "empty.gguf");
        File.WriteAllBytes(path, []);
        var e = Assert.Throws<ModelFormatException>(() => new MappedFile(path, memory));
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("always [madvise] never", WeightMemory.HugePages)]
    [InlineData("[always] madvise never", WeightMemory.HugePages)]
    [InlineData("always madvise [never]", WeightMemory.Mapped)]
    [InlineData(null, WeightMemory.Mapped)]
    public void AutoFollowsTheKernelsSetting(string? setting, WeightMemory expected)
    {
        Assert.Equal(expected, MappedFile.Resolve(WeightMemory.Auto, setting));
        Assert.Equal(WeightMemory.Mapped, MappedFile.Resolve(WeightMemory.Mapped, "[always] madvise never"));
        Assert.Equal(WeightMemory.HugePages, MappedFile.Resolve(WeightMemory.HugePages, "always madvise [never]"));
    }

    public static TheoryData<string> Models => new()
    {
        TestModels.Stories260KGguf,
        EngineHarness.Stories260KBin,
        Path.Combine(Path.GetDirectoryName(TestModels.TinyStories656KGguf)!, "hf"),
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void LogitsAreTheSameOnHugePagesAsMapped(string path)
    {
        var mapped = Logits(path, WeightMemory.Mapped);
        var huge = Logits(path, WeightMemory.HugePages);
        Assert.Equal(mapped, huge);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static float[] Logits(string path, WeightMemory memory)
    {
        using var model = LlamaModel.Load(path, memory: memory);
        using var backend = new CpuBackend(model.Config, model.Weights, new BackendOptions { KvBlockCount = 8, Threads = 2 });
        var batch = new ForwardBatch();
        var seq = batch.AddSequence([0, 1, 2, 3]);
        int[] tokens = [1, 403, 407, 261, 378, 432, 383, 286];
        for (var i = 0; i < tokens.Length; i++)
        {
            batch.AddToken(seq, tokens[i] % model.Config.VocabSize, i, wantLogits: true);
        }

        var logits = new float[tokens.Length * model.Config.VocabSize];
        backend.Forward(batch, logits);
        return logits;
    }

    private sealed class ListProgress(List<long> reported) : IProgress<long>
    {
        public void Report(long value) => reported.Add(value);
    }
}
