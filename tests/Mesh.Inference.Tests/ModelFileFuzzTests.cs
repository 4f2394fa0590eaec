using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests;

/// <summary>
/// Model files are untrusted: thousands of seeded mutations of a valid GGUF (bit flips, overwritten
/// counts, lengths and type ids, truncations) and of a valid llama2.c checkpoint header are each
/// either loaded or refused with a <see cref="ModelFormatException"/> that names the file and a field
/// — never another exception, a hang, or managed allocations out of proportion to the file.
/// </summary>
public sealed class ModelFileFuzzTests : IDisposable
{
    private const int Mutations = 2500;
    private static readonly TimeSpan Budget = TimeSpan.FromMinutes(3);
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-fuzz-").FullName;

    [Fact]
    public void MutatedGgufFilesAreLoadedOrRefusedWithTheField()
    {
        // A small valid model: stories260K's vocabulary (the metadata is most of the file) and tiny weights.
        var vocabulary = TokenizerModelsFixture.FromGguf(TestModels.Stories260KGguf).Vocabulary;
        var config = new LlamaConfig(Dim: 32, HiddenDim: 64, Layers: 1, Heads: 4, KvHeads: 2, VocabSize: vocabulary.Pieces.Count, ContextLength: 32, NormEpsilon: 1e-5f, RopeTheta: 10000f);
        var source = Path.Combine(_folder, "source.gguf");
        SyntheticLlamaGguf.Write(source, config, vocabulary, GgmlType.Q8_0, seed: 1, tiedClassifier: false);
        var original = File.ReadAllBytes(source);
        long headerEnd;
        using (var gguf = GgufFile.Open(source))
        {
            headerEnd = original.Length - gguf.Tensors.Values.Sum(t => t.ByteLength);
        }

        Run(original, ".gguf", (random, bytes) => MutateGguf(random, bytes, (int)headerEnd));
    }

    [Fact]
    public void MutatedLlama2cCheckpointsAreLoadedOrRefusedWithTheField()
    {
        File.Copy(TestModels.Stories260KTokenizer, Path.Combine(_folder, "tok512.bin"));
        Run(File.ReadAllBytes(EngineHarness.Stories260KBin), ".bin", MutateLlama2c);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private void Run(byte[] original, string extension, Func<Random, byte[], (byte[] Bytes, string What)> mutate)
    {
        var path = Path.Combine(_folder, "mutated" + extension);
        var loaded = 0;
        var refused = new Dictionary<string, int>();
        var work = Task.Run(() =>
        {
            for (var seed = 0; seed < Mutations; seed++)
            {
                var (bytes, what) = mutate(new Random(seed), (byte[])original.Clone());
                File.WriteAllBytes(path, bytes);
                var allocated = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    using var model = LlamaModel.Load(path);
                    loaded++;
                }
                catch (ModelFormatException e)
                {
                    Assert.True(e.FilePath == path && !string.IsNullOrEmpty(e.Field), $"seed {seed} ({what}): {e.Message}");
                    var kind = e.Field.Split('.', '[')[0];
                    refused[kind] = refused.GetValueOrDefault(kind) + 1;
                }
                catch (Exception e)
                {
                    Assert.Fail($"seed {seed} ({what}): {e.GetType().Name} instead of ModelFormatException: {e}");
                }

                // The file's own tokenizer and tensors cost a few times its size; a count or length
                // taken on trust would cost gigabytes.
                allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
                Assert.True(allocated < (16L * bytes.Length) + (8 << 20), $"seed {seed} ({what}): loading a {bytes.Length}-byte file allocated {allocated} bytes");
            }
        });

        Assert.True(work.Wait(Budget), $"{Mutations} loads did not finish within {Budget} (a hang?)");
        work.GetAwaiter().GetResult();
        // Both outcomes occur, so the mutations neither always break nor never touch what matters.
        Assert.True(loaded > 0 && refused.Values.Sum() > Mutations / 4, $"loaded {loaded}, refused {string.Join(", ", refused.Select(p => $"{p.Key}: {p.Value}"))}");
    }

    /// <summary>One of: bit flips, a huge or random 64-bit count/length, a random 32-bit type id, a truncation, bytes cut from the middle.</summary>
    private static (byte[] Bytes, string What) MutateGguf(Random random, byte[] bytes, int headerEnd)
    {
        // Most mutations hit the header, metadata and tensor directory, where parsing happens.
        int At(int width) => random.Next(0, random.Next(4) == 0 ? bytes.Length - width : Math.Min(headerEnd, bytes.Length) - width);
        switch (random.Next(6))
        {
            case 0:
                var flips = random.Next(1, 9);
                for (var i = 0; i < flips; i++)
                {
                    bytes[At(1)] ^= (byte)(1 << random.Next(8));
                }

                return (bytes, $"{flips} bit flips");
            case 1:
                var at = At(8);
                ulong[] huge = [ulong.MaxValue, 1UL << 63, 1UL << 40, 1UL << 32, (1UL << 24) + 1, (ulong)random.NextInt64()];
                var value = huge[random.Next(huge.Length)];
                BitConverter.GetBytes(value).CopyTo(bytes, at);
                return (bytes, $"u64 {value} at {at}");
            case 2:
                var typeAt = At(4);
                var type = (uint)random.Next(0, 48);
                BitConverter.GetBytes(type).CopyTo(bytes, typeAt);
                return (bytes, $"u32 {type} at {typeAt}");
            case 3:
                var length = random.Next(0, bytes.Length);
                return (bytes[..length], $"truncated to {length}");
            case 4:
                var from = At(1);
                var count = random.Next(1, 64);
                return ([.. bytes[..from], .. bytes[Math.Min(bytes.Length, from + count)..]], $"{count} bytes cut at {from}");
            default:
                var start = At(16);
                random.NextBytes(bytes.AsSpan(start, 16));
                return (bytes, $"16 random bytes at {start}");
        }
    }

    /// <summary>Header fields replaced (random, negative, zero, huge), bits flipped, truncated or extended.</summary>
    private static (byte[] Bytes, string What) MutateLlama2c(Random random, byte[] bytes)
    {
        switch (random.Next(4))
        {
            case 0:
                var field = random.Next(7);
                int[] values = [0, -1, 1, int.MaxValue, int.MinValue, random.Next(), -random.Next(1, 1 << 16), random.Next(1, 1 << 12)];
                var value = values[random.Next(values.Length)];
                BitConverter.GetBytes(value).CopyTo(bytes, field * 4);
                return (bytes, $"header[{field}] = {value}");
            case 1:
                var bit = random.Next(28 * 8);
                bytes[bit / 8] ^= (byte)(1 << (bit % 8));
                return (bytes, $"header bit {bit} flipped");
            case 2:
                var length = random.Next(0, bytes.Length);
                return (bytes[..length], $"truncated to {length}");
            default:
                var extra = random.Next(1, 4096);
                return ([.. bytes, .. new byte[extra]], $"{extra} bytes appended");
        }
    }
}
