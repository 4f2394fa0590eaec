using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Bench;

/// <summary>
/// Single-stream prefill and decode tokens/s of Mesh's CPU backend, and optionally of llama.cpp on the
/// same files with the same thread count in the same run, with the ratio and greedy agreement.
/// </summary>
internal static class SpeedBench
{
    public static void Run(int threads, bool withLlamaCpp, int prefillTokens, int decodeTokens)
    {
        var models = new List<(string Name, string Path, bool F32)>
        {
            ("stories260K (llama2.c .bin)", BenchModels.Stories260KBin, true),
            ("stories260K (GGUF F32)", BenchModels.Stories260KGguf, true),
            ("synthetic 110M F32", BenchModels.Synthetic110M(GgmlType.F32), true),
            ("synthetic 110M Q8_0", BenchModels.Synthetic110M(GgmlType.Q8_0), false),
        };
        Console.WriteLine($"threads: {threads}, prompt: {prefillTokens} tokens, decode: {decodeTokens} tokens, {Environment.ProcessorCount} logical cores, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}");
        Console.WriteLine();
        var table = withLlamaCpp
            ? new Table("model", "Mesh prefill tok/s", "llama.cpp prefill tok/s", "ratio", "Mesh decode tok/s", "llama.cpp decode tok/s", "ratio", "greedy agreement (first 32)")
            : new Table("model", "prefill tok/s", "decode tok/s");
        foreach (var (name, path, f32) in models)
        {
            if (withLlamaCpp && path.EndsWith(".bin", StringComparison.Ordinal))
            {
                continue; // llama.cpp reads GGUF only
            }

            using var mesh = new MeshSubject(path, threads);
            var prompt = Prompt(mesh, prefillTokens);
            mesh.Run(prompt[..Math.Min(16, prompt.Count)], 4); // warm-up: JIT, page faults
            var ours = mesh.Run(prompt, decodeTokens);
            if (!withLlamaCpp)
            {
                table.Add(name, ours.PrefillTokensPerSecond, ours.DecodeTokensPerSecond);
                continue;
            }

            using var peer = new LlamaCppSubject(path, threads, prompt.Count + decodeTokens + 8);
            peer.Run(prompt[..Math.Min(16, prompt.Count)], 4);
            var theirs = peer.Run(prompt, decodeTokens);
            var agreement = f32
                ? $"{ours.GreedyTokens.Take(32).Zip(theirs.GreedyTokens).TakeWhile(p => p.First == p.Second).Count()}/32"
                : "n/a (Q8_0)";
            table.Add(
                name,
                ours.PrefillTokensPerSecond,
                theirs.PrefillTokensPerSecond,
                $"{ours.PrefillTokensPerSecond / theirs.PrefillTokensPerSecond:F2}×",
                ours.DecodeTokensPerSecond,
                theirs.DecodeTokensPerSecond,
                $"{ours.DecodeTokensPerSecond / theirs.DecodeTokensPerSecond:F2}×",
                agreement);
        }

        table.Print();
    }

    /// <summary>A prompt of exactly <paramref name="length"/> tokens of ordinary text.</summary>
    private static List<int> Prompt(MeshSubject mesh, int length)
    {
        var tokenizer = mesh.Model.Tokenizer;
        var text = string.Concat(Enumerable.Repeat("Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends. ", 40));
        var ids = tokenizer.Encode(text, addBos: true);
        return [.. ids.Take(Math.Min(length, mesh.Model.Config.ContextLength / 2))];
    }
}
