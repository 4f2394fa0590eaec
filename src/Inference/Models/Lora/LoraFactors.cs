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
    /// Checks a factor of block <paramref name="layer"/>'s <paramref name="target"/> before any data is
    /// read: a matrix of row-major <paramref name="shape"/> [rows, cols], A [rank, in] or B [out, rank]
    /// (A when <paramref name="isA"/>) against the base model's projection and the rank bound. Returns
    /// its rows, columns and rank. Both readers' one check, whatever order their format stores dimensions in.
    /// </summary>
    public (int Rows, int Cols, int Rank) Check(string name, int layer, LoraTarget target, bool isA, ReadOnlySpan<long> shape)
    {
        if (shape.Length != 2)
        {
            throw new ModelFormatException(path, name, $"has {shape.Length} dimensions; LoRA factors are matrices");
        }

        if ((uint)layer >= (uint)config.Layers)
        {
            throw new ModelFormatException(path, name, $"block {layer} does not exist: the base model has {config.Layers}");
        }

        long rows = shape[0], cols = shape[1];
        var (outputs, inputs) = LoraLayout.Shape(config, target);
        var limit = LoraLayout.RankLimit(config, target);
        var rank = isA ? rows : cols;
        if ((isA ? cols != inputs : rows != outputs) || rank < 1 || rank > limit)
        {
            throw new ModelFormatException(path, name, isA
                ? $"lora_a is [{rows}, {cols}] (rank, in) but the base model's {target} takes {inputs} inputs and ranks are 1 to {limit}"
                : $"lora_b is [{rows}, {cols}] (out, rank) but the base model's {target} has {outputs} outputs and ranks are 1 to {limit}");
        }

        return ((int)rows, (int)cols, (int)rank);
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
}
