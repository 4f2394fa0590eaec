using System.Text.Json;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Lora;
using Mesh.Inference.Tests.Architectures;

namespace Mesh.Inference.Tests.Lora;

/// <summary>Random LoRA factors for tests, written as Mesh's GGUF adapter or as a PEFT directory.</summary>
internal static class LoraTestAdapters
{
    public static readonly LoraTarget[] AllTargets = Enum.GetValues<LoraTarget>();

    /// <summary>
    /// Random factors (A ~ U(±1/√in), B ~ U(±5/√rank)) for <paramref name="targets"/> of every block, in
    /// the layout of <paramref name="config"/>'s weights; big enough to move the NLL by several percent.
    /// </summary>
    public static LoraAdapter Random(LlamaConfig config, int rank, float alpha, int seed, string name = "test", LoraTarget[]? targets = null)
    {
        var random = new Random(seed);
        var layers = new LoraMatrix?[config.Layers][];
        for (var l = 0; l < config.Layers; l++)
        {
            layers[l] = new LoraMatrix?[AllTargets.Length];
            foreach (var t in targets ?? AllTargets)
            {
                var (outputs, inputs) = LoraLayout.Shape(config, t);
                var a = Fill(random, rank * inputs, 1 / MathF.Sqrt(inputs));
                var b = Fill(random, outputs * rank, 5f / MathF.Sqrt(rank));
                layers[l][(int)t] = new LoraMatrix(rank, inputs, outputs, a, b, LoraLayout.Scale(alpha, rank));
            }
        }

        return new LoraAdapter(name, "gguf", alpha, layers);
    }

    /// <summary>
    /// Writes <paramref name="adapter"/> (factors in Hugging Face's NeoX row order) as a PEFT directory in
    /// <paramref name="dtype"/> (F32 or BF16, truncated), and returns it.
    /// </summary>
    public static string WritePeft(LoraAdapter adapter, int rank, float alpha, string directory, string dtype = "F32")
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, PeftLoraReader.ConfigFile), JsonSerializer.Serialize(new
        {
            peft_type = "LORA",
            r = rank,
            lora_alpha = alpha,
            target_modules = new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" },
            bias = "none",
            task_type = "CAUSAL_LM",
        }));
        var tensors = new List<(string, long[], string, byte[])>();
        for (var l = 0; l < adapter.Layers; l++)
        {
            foreach (var t in AllTargets)
            {
                if (adapter.Get(l, t) is not { } m)
                {
                    continue;
                }

                var stem = $"base_model.model.model.layers.{l}.{LoraLayout.HuggingFacePaths[(int)t]}";
                tensors.Add((stem + ".lora_A.weight", [m.Rank, m.Inputs], dtype, Encode(m.A, dtype)));
                tensors.Add((stem + ".lora_B.weight", [m.Outputs, m.Rank], dtype, Encode(m.B, dtype)));
            }
        }

        SafetensorsWriter.Write(Path.Combine(directory, PeftLoraReader.WeightsFile), tensors);
        return directory;
    }

    /// <summary>
    /// What llama.cpp's convert_lora_to_gguf.py makes of a PEFT adapter for a <c>llama</c> GGUF base:
    /// the same factors with the Q/K B rows permuted into adjacent-pair order (the test's own permutation).
    /// </summary>
    public static LoraAdapter ToGgufLayout(LoraAdapter adapter, LlamaConfig config)
    {
        var layers = new LoraMatrix?[adapter.Layers][];
        for (var l = 0; l < adapter.Layers; l++)
        {
            layers[l] = new LoraMatrix?[AllTargets.Length];
            foreach (var t in AllTargets)
            {
                if (adapter.Get(l, t) is not { } m)
                {
                    continue;
                }

                var b = t switch
                {
                    LoraTarget.Query => SyntheticFamilyModel.PermuteToAdjacent(m.B, m.Outputs, m.Rank, config.Heads),
                    LoraTarget.Key => SyntheticFamilyModel.PermuteToAdjacent(m.B, m.Outputs, m.Rank, config.KvHeads),
                    _ => m.B,
                };
                layers[l][(int)t] = new LoraMatrix(m.Rank, m.Inputs, m.Outputs, m.A, b, m.Scale);
            }
        }

        return new LoraAdapter(adapter.Name, "gguf", adapter.Alpha, layers);
    }

    private static float[] Fill(Random random, int count, float range)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = ((random.NextSingle() * 2) - 1) * range;
        }

        return values;
    }

    private static byte[] Encode(float[] values, string dtype) => dtype == "BF16"
        ? [.. values.SelectMany(v => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)))]
        : [.. values.SelectMany(BitConverter.GetBytes)];
}
