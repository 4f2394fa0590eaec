using Mesh.Inference.Models.Gguf;

namespace Mesh.Inference.Models.Lora;

/// <summary>
/// Collects the A and B factors of each (block, target) as a reader finds them, checks each pair
/// against the base model's shape and the rank bound, and builds the <see cref="LoraAdapter"/>.
/// Errors are <see cref="ModelFormatException"/>s naming the file and the tensor.
/// </summary>
internal sealed class LoraFactors(string path, LlamaConfig config)
{
    private readonly Dictionary<(int Layer, LoraTarget Target), (float[]? A, int RankA, float[]? B, int RankB, string Name)> _pairs = [];

    /// <summary>Reads [rows, cols] of a tensor in GGML type <paramref name="type"/> (F32, F16 or BF16) at <paramref name="data"/> as f32.</summary>
    public float[] Read(string name, GgmlType type, int rows, int cols, nint data)
    {
        if (type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16))
        {
            throw new ModelFormatException(path, name, $"LoRA factors must be F32, F16 or BF16, not {type}");
        }

        var matrix = new WeightMatrix(name, type, rows, cols, data);
        var result = new float[(long)rows * cols];
        for (var r = 0; r < rows; r++)
        {
            Dequantize.Row(matrix, r, result.AsSpan(r * cols, cols));
        }

        return result;
    }

    /// <summary>
    /// Checks that an A factor of block <paramref name="layer"/>'s <paramref name="target"/> is [rank, in]
    /// (<paramref name="rows"/> = rank) before any data is read.
    /// </summary>
    public void CheckA(string name, int layer, LoraTarget target, long rows, long cols)
    {
        CheckLayer(name, layer);
        var (_, inputs) = LoraLayout.Shape(config, target);
        var limit = LoraLayout.RankLimit(config, target);
        if (cols != inputs || rows < 1 || rows > limit)
        {
            throw new ModelFormatException(path, name, $"lora_a is [{rows}, {cols}] (rank, in) but the base model's {target} takes {inputs} inputs and ranks are 1 to {limit}");
        }
    }

    /// <summary>Checks that a B factor is [out, rank] (<paramref name="cols"/> = rank).</summary>
    public void CheckB(string name, int layer, LoraTarget target, long rows, long cols)
    {
        CheckLayer(name, layer);
        var (outputs, _) = LoraLayout.Shape(config, target);
        var limit = LoraLayout.RankLimit(config, target);
        if (rows != outputs || cols < 1 || cols > limit)
        {
            throw new ModelFormatException(path, name, $"lora_b is [{rows}, {cols}] (out, rank) but the base model's {target} has {outputs} outputs and ranks are 1 to {limit}");
        }
    }

    /// <summary>Records a checked factor (A when <paramref name="isA"/>); a second copy of one is an error.</summary>
    public void Add(string name, int layer, LoraTarget target, bool isA, float[] values, int rank)
    {
        _pairs.TryGetValue((layer, target), out var pair);
        if (isA ? pair.A is not null : pair.B is not null)
        {
            throw new ModelFormatException(path, name, "appears twice");
        }

        _pairs[(layer, target)] = isA ? pair with { A = values, RankA = rank, Name = name } : pair with { B = values, RankB = rank, Name = name };
    }

    /// <summary>The adapter: every A has its B of the same rank; <paramref name="scale"/> turns the rank into the factor on B·A.</summary>
    public LoraAdapter Build(string name, string format, float alpha, Func<int, float> scale)
    {
        if (_pairs.Count == 0)
        {
            throw new ModelFormatException(path, "tensors", "the adapter has no LoRA factors for any projection of the base model");
        }

        var layers = new LoraMatrix?[config.Layers][];
        for (var l = 0; l < layers.Length; l++)
        {
            layers[l] = new LoraMatrix?[Enum.GetValues<LoraTarget>().Length];
        }

        foreach (var ((layer, target), pair) in _pairs)
        {
            if (pair.A is null || pair.B is null)
            {
                throw new ModelFormatException(path, pair.Name, $"has no {(pair.A is null ? "lora_a / lora_A" : "lora_b / lora_B")} partner");
            }

            if (pair.RankA != pair.RankB)
            {
                throw new ModelFormatException(path, pair.Name, $"lora_a has rank {pair.RankA} but lora_b has rank {pair.RankB}");
            }

            var (outputs, inputs) = LoraLayout.Shape(config, target);
            layers[layer][(int)target] = new LoraMatrix(pair.RankA, inputs, outputs, pair.A, pair.B, scale(pair.RankA));
        }

        return new LoraAdapter(name, format, alpha, layers);
    }

    private void CheckLayer(string name, int layer)
    {
        if ((uint)layer >= (uint)config.Layers)
        {
            throw new ModelFormatException(path, name, $"block {layer} does not exist: the base model has {config.Layers}");
        }
    }
}
