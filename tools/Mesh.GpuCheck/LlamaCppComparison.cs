using System.Diagnostics;
using LLama;
using LLama.Common;
using LLama.Native;
using Mesh.Inference.Backends;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tokenization;

namespace Mesh.GpuCheck;

/// <summary>
/// Decode speed on a file llama.cpp itself quantized: no real checkpoint travels to the GPU machine
/// (64 MiB carry), so the check writes a Llama-shaped model with random weights as an F16 GGUF
/// (<see cref="SyntheticLlamaGguf"/>, with a synthetic SentencePiece vocabulary of byte and word
/// pieces that llama.cpp loads), quantizes it to Q4_K_M with llama.cpp's own quantizer
/// (LLamaSharp's <see cref="LLamaQuantizer"/>: Q4_K with Q6_K for half of ffn_down/attn_v and the
/// classifier, llama.cpp's mix), and then measures greedy decode tokens/s on that one file with a
/// Mesh backend (loaded by <see cref="LlamaModel.Load"/>) and with llama.cpp's CPU backend
/// (LLamaSharp.Backend.Cpu, <c>GpuLayerCount = 0</c>).
/// </summary>
internal static class LlamaCppComparison
{
    private static readonly Lazy<bool> NativeLoaded = new(() =>
    {
        // The configuration must be set before the library loads; llama.cpp logs every load to stderr.
        NativeLibraryConfig.All.WithLogCallback((_, _) => { });
        NativeApi.llama_empty_call();
        return true;
    });

    /// <summary>Llama-3.2-1B's layer shapes (dim 2048, FFN 8192, 16 layers, 32/8 heads) with a 32k vocabulary: about 1.0B parameters.</summary>
    public static LlamaConfig Shape1B { get; } =
        new(Dim: 2048, HiddenDim: 8192, Layers: 16, Heads: 32, KvHeads: 8, VocabSize: 32000, ContextLength: 2048, NormEpsilon: 1e-5f, RopeTheta: 500000f);

    /// <summary>
    /// Writes <paramref name="config"/>'s model as F16 into <paramref name="folder"/>, quantizes it to
    /// Q4_K_M with llama.cpp on <paramref name="threads"/> threads, deletes the F16 file and returns
    /// the quantized file's path.
    /// </summary>
    /// <exception cref="InvalidOperationException">llama.cpp refused to quantize the file.</exception>
    public static string WriteQ4KM(string folder, LlamaConfig config, int threads)
    {
        Directory.CreateDirectory(folder);
        var f16 = Path.Combine(folder, "random-F16.gguf");
        var quantized = Path.Combine(folder, "random-Q4_K_M.gguf");
        SyntheticLlamaGguf.Write(f16, config, SyntheticVocabulary(config.VocabSize), GgmlType.F16, seed: 1, tiedClassifier: false, classifierGain: 4f);
        _ = NativeLoaded.Value; // the quantizer's P/Invoke does not load the library itself
        var ok = LLamaQuantizer.Quantize(f16, quantized, LLamaFtype.MOSTLY_Q4_K_M, nthread: threads, allowRequantize: true, quantizeOutputTensor: true);
        File.Delete(f16);
        return ok ? quantized : throw new InvalidOperationException($"llama.cpp could not quantize {f16} to Q4_K_M");
    }

    /// <summary>
    /// A SentencePiece vocabulary of <paramref name="size"/> tokens as llama.cpp expects one:
    /// &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, the 256 byte pieces in order, then word pieces "▁w{i}" with
    /// decreasing scores.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than 260 tokens (the reserved and byte pieces).</exception>
    public static SentencePieceVocabulary SyntheticVocabulary(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 260);
        var pieces = new List<string> { "<unk>", "<s>", "</s>" };
        var kinds = new List<TokenKind> { TokenKind.Unknown, TokenKind.Control, TokenKind.Control };
        for (var b = 0; b < 256; b++)
        {
            pieces.Add($"<0x{b:X2}>");
            kinds.Add(TokenKind.Byte);
        }
        for (var i = 0; pieces.Count < size; i++)
        {
            pieces.Add($"{SentencePieceVocabulary.SpaceSymbol}w{i}");
            kinds.Add(TokenKind.Normal);
        }
        var scores = Enumerable.Range(0, size).Select(i => kinds[i] == TokenKind.Normal ? -(float)i : 0f).ToArray();
        return new SentencePieceVocabulary(pieces, scores, kinds, BosId: 1, EosId: 2, UnkId: 0, AddBos: true);
    }

    /// <summary>The prompt both engines prefill before decoding: BOS and word pieces.</summary>
    public static int[] Prompt(int vocabSize, int length) =>
        [1, .. Enumerable.Range(0, length - 1).Select(i => 259 + ((i * 7919) % (vocabSize - 259)))];

    /// <summary>Greedy decode tokens/s of llama.cpp's CPU backend on <paramref name="path"/> after prefilling <paramref name="prompt"/>.</summary>
    public static DecodeRun LlamaCpp(string path, int[] prompt, int steps, int threads)
    {
        _ = NativeLoaded.Value;
        var context = prompt.Length + steps + 8;
        var parameters = new ModelParams(path)
        {
            ContextSize = (uint)context,
            BatchSize = (uint)context,
            UBatchSize = (uint)context,
            GpuLayerCount = 0,
            Threads = threads,
            BatchThreads = threads,
        };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var session = weights.CreateContext(parameters);
        var batch = new LLamaBatch();
        for (var i = 0; i < prompt.Length; i++)
        {
            batch.Add((LLamaToken)prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
        }
        Decode(session, batch);
        var tokens = new List<int>();
        var clock = Stopwatch.StartNew();
        for (var step = 0; step < steps; step++)
        {
            var next = ArgMax(session.NativeHandle.GetLogitsIth(batch.TokenCount - 1));
            tokens.Add(next);
            batch.Clear();
            batch.Add((LLamaToken)next, prompt.Length + step, LLamaSeqId.Zero, true);
            Decode(session, batch);
        }
        return new DecodeRun(steps / clock.Elapsed.TotalSeconds, tokens);
    }

    /// <summary>Greedy decode tokens/s of a Mesh backend (built by <paramref name="create"/> from the loaded file) after prefilling <paramref name="prompt"/>.</summary>
    public static DecodeRun MeshBackend(string path, int[] prompt, int steps, Func<LlamaConfig, LlamaWeights, IInferenceBackend> create)
    {
        using var model = LlamaModel.Load(path);
        using var backend = create(model.Config, model.Weights);
        var config = model.Config;
        var table = Enumerable.Range(0, ((prompt.Length + steps) / 16) + 1).ToArray();
        var batch = new ForwardBatch();
        var sequence = batch.AddSequence(table);
        for (var i = 0; i < prompt.Length; i++)
        {
            batch.AddToken(sequence, prompt[i], i, wantLogits: i == prompt.Length - 1);
        }
        var logits = new float[config.VocabSize];
        backend.Forward(batch, logits);
        var tokens = new List<int>();
        var clock = Stopwatch.StartNew();
        for (var step = 0; step < steps; step++)
        {
            var next = ArgMax(logits);
            tokens.Add(next);
            batch.Clear();
            batch.AddToken(batch.AddSequence(table), next, prompt.Length + step, wantLogits: true);
            backend.Forward(batch, logits);
        }
        return new DecodeRun(steps / clock.Elapsed.TotalSeconds, tokens);
    }

    private static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }
        return best;
    }

    private static void Decode(LLamaContext context, LLamaBatch batch)
    {
        var status = context.Decode(batch);
        if (status != LLama.Native.DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama_decode failed: {status}");
        }
    }
}

/// <summary>One greedy decode: tokens/s over the decode steps and the tokens chosen.</summary>
internal sealed record DecodeRun(double TokensPerSecond, List<int> Tokens);
