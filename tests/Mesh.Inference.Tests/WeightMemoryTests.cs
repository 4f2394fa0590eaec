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
// Serial: one test measures the process's working set, which other tests' models would grow.
[Collection(SerialCollection.Name)]
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

    [Fact]
    public void AFileTruncatedWhileItIsCopiedIsAFormatErrorSayingSo()
    {
        // Two copy chunks (64 MiB each): the first chunk's progress report truncates the file, so the
        // next read finds its end early.
        var path = Path.Combine(_folder, "shrinking.bin");
        using (var f = File.Create(path))
        {
            f.SetLength((64L << 20) + 4096);
        }

        var truncate = new CallbackProgress(done =>
        {
            if (done == 64L << 20)
            {
                using var f = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                f.SetLength(done);
            }
        });
        var e = Assert.Throws<ModelFormatException>(() => new MappedFile(path, WeightMemory.HugePages, truncate));
        Assert.Contains($"file ended at {64L << 20} of {(64L << 20) + 4096} bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CopyProgressLogsOnceAtTheEndAndAtMostOnceASecondBefore()
    {
        var logger = new ListLogger();
        var progress = ModelMemory.CopyProgress("m", 1000, logger, progressThresholdBytes: 1000)!;
        for (var done = 100; done < 1000; done += 100)
        {
            progress.Report(done); // all within the first second: none logged
        }

        progress.Report(1000);
        Assert.Equal(["Read m: 0.0 MiB onto huge pages in"], logger.Lines.Select(l => l[..l.IndexOf(" in ", StringComparison.Ordinal)] + " in"));
        Assert.Null(ModelMemory.CopyProgress("m", 999, logger, progressThresholdBytes: 1000));
        Assert.Null(ModelMemory.CopyProgress("m", 1000, null, progressThresholdBytes: 1000));
    }

    [Fact]
    public void TheHugePageShareCountsTheMappingsThatHoldTheWeightsOnce()
    {
        string[] smaps =
        [
            "7f0000000000-7f0000400000 rw-p 00000000 00:00 0",
            "Size:               4096 kB",
            "AnonHugePages:      2048 kB",
            "VmFlags: rd wr mr mw me ac sd hg",
            "7f0000400000-7f0000600000 r--s 00000000 fe:00 5316728                    /models/m.gguf",
            "AnonHugePages:         0 kB",
            "7f0000800000-7f0000a00000 rw-p 00000000 00:00 0",
            "AnonHugePages:      2048 kB",
        ];

        // Two matrices in the first mapping, one in the second; nothing in the third.
        var (huge, total) = ModelMemory.HugePageBytes([unchecked((nuint)0x7f0000000000UL), unchecked((nuint)0x7f0000100000UL), unchecked((nuint)0x7f00004fffffUL)], smaps);

        Assert.Equal(2048L * 1024, huge);
        Assert.Equal((4L << 20) + (2L << 20), total);
    }

    [HugePagesFact]
    public unsafe void AllocateHugePagesAdvisesHugePagesWhereTheKernelOffersThem()
    {
        // Whether a fault gets a 2 MiB page depends on the kernel finding one free (AnonHugePages can be
        // 0 on a fragmented machine), so the test checks what Mesh controls: the mapping carries the
        // advice (VmFlags "hg", MADV_HUGEPAGE) and starts on a huge page boundary.
        const int bytes = 32 << 20;
        var p = (byte*)MappedFile.AllocateHugePages(bytes);
        try
        {
            new Span<byte>(p, bytes).Fill(1);
            Assert.Equal(0, (long)p % MappedFile.HugePageBytes);
            Assert.True(VmFlags((nuint)p).Split(' ').Contains("hg"), "the memory is not advised MADV_HUGEPAGE: was madvise called?");
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.AlignedFree(p);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TheCopyIsFreedWhenTheFileFailsToParseOrTheModelIsDisposedTwice(bool valid)
    {
        // 64 MiB copied 24 times: a leaked copy each time would grow the working set by 1.5 GiB (the bound
        // leaves room for the tests running beside this one).
        var path = Path.Combine(_folder, "big.gguf");
        var bytes = new byte[64 << 20];
        if (valid)
        {
            File.Copy(TestModels.Stories260KGguf, path);
            using var f = new FileStream(path, FileMode.Open);
            f.SetLength(bytes.Length); // a valid GGUF with trailing bytes parses
        }
        else
        {
            "GGUF"u8.CopyTo(bytes);
            bytes[4] = 9; // GGUF version 9: refused after the copy
            File.WriteAllBytes(path, bytes);
        }

        var before = Environment.WorkingSet;
        for (var i = 0; i < 24; i++)
        {
            if (valid)
            {
                var model = LlamaModel.Load(path, memory: WeightMemory.HugePages);
                model.Dispose();
                model.Dispose();
            }
            else
            {
                Assert.Throws<ModelFormatException>(() => LlamaModel.Load(path, memory: WeightMemory.HugePages));
            }
        }

        Assert.InRange(Environment.WorkingSet - before, long.MinValue, 512L << 20);
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

    // The AnonHugePages of the mapping in /proc/self/smaps that holds address.
    /// <summary>The VmFlags line of the /proc/self/smaps mapping that holds <paramref name="address"/> ("" if none).</summary>
    private static string VmFlags(nuint address)
    {
        var inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            if (ModelMemory.TryParseMapping(line, out var start, out var end))
            {
                inside = address >= start && address < end;
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line["VmFlags:".Length..].Trim();
            }
        }

        return "";
    }

    /// <summary>A fact that runs only where Linux offers transparent huge pages (where Auto means HugePages).</summary>
    private sealed class HugePagesFactAttribute : FactAttribute
    {
        public HugePagesFactAttribute() => Skip = MappedFile.Resolve(WeightMemory.Auto) == WeightMemory.HugePages
            ? null
            : "this machine offers no transparent huge pages (or is not Linux), so the weights stay mapped";
    }

    private sealed class CallbackProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add(formatter(state, exception));
    }

    private sealed class ListProgress(List<long> reported) : IProgress<long>
    {
        public void Report(long value) => reported.Add(value);
    }
}
