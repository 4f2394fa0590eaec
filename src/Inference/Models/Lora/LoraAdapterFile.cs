using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Models.Lora;

/// <summary>Reads an adapter in either format and writes llama.cpp's GGUF adapter.</summary>
public static class LoraAdapterFile
{
    /// <summary>
    /// Reads <paramref name="path"/>: a directory is a PEFT adapter (<see cref="PeftLoraReader"/>), a
    /// file a GGUF adapter (<see cref="GgufLoraReader"/>); each is checked against <paramref name="config"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">Nothing is at <paramref name="path"/>.</exception>
    /// <exception cref="ModelFormatException">The file is not a usable adapter of this model (the message names the field).</exception>
    public static LoraAdapter Read(string path, string name, LlamaConfig config)
    {
        if (Directory.Exists(path))
        {
            return PeftLoraReader.Read(path, name, config);
        }

        return File.Exists(path)
            ? GgufLoraReader.Read(path, name, config)
            : throw new FileNotFoundException($"no adapter at '{path}': give a GGUF adapter file or a PEFT directory", path);
    }

    /// <summary>
    /// Writes <paramref name="adapter"/> as llama.cpp's GGUF adapter for <paramref name="architecture"/>:
    /// F32 factors <c>blk.N.{stem}.weight.lora_a</c> (ne [in, rank]) and <c>.lora_b</c> (ne [rank, out]),
    /// <c>adapter.lora.alpha</c> = scale × rank, so llama.cpp's alpha / rank gives the same scale.
    /// </summary>
    /// <exception cref="ArgumentException">The matrices' scale × rank differ (one GGUF alpha cannot express them).</exception>
    public static void WriteGguf(LoraAdapter adapter, string architecture, string path)
    {
        var writer = new GgufWriter()
            .Add("general.architecture", architecture)
            .Add("general.type", "adapter")
            .Add("general.name", adapter.Name)
            .Add("adapter.type", "lora");
        float? alpha = null;
        for (var l = 0; l < adapter.Layers; l++)
        {
            foreach (var target in Enum.GetValues<LoraTarget>())
            {
                if (adapter.Get(l, target) is not { } m)
                {
                    continue;
                }

                var a = m.Scale * m.Rank;
                if (alpha is { } previous && MathF.Abs(previous - a) > 1e-6f * MathF.Abs(a))
                {
                    throw new ArgumentException($"adapter '{adapter.Name}' has matrices with different alpha (scale × rank): {previous} and {a}", nameof(adapter));
                }

                alpha = a;
                var stem = $"blk.{l}.{LoraLayout.GgufStems[(int)target]}.weight";
                writer.AddTensor(stem + ".lora_a", m.Rank, m.Inputs, GgmlType.F32, () => m.A, matrix: true);
                writer.AddTensor(stem + ".lora_b", m.Outputs, m.Rank, GgmlType.F32, () => m.B, matrix: true);
            }
        }

        writer.Add("adapter.lora.alpha", alpha ?? 0f).Write(path);
    }
}
