using Mesh.Inference.Models;
using Mesh.Inference.Models.Lora;

namespace Mesh.Inference.Training;

/// <summary>
/// The trained parameters of one adapted projection: A [rank, in] and B [out, rank], row-major f32,
/// as <see cref="LoraMatrix"/> holds them.
/// </summary>
internal sealed class LoraSlot(int index, int layer, LoraTarget target, int rank, int inputs, int outputs)
{
    /// <summary>Position in <see cref="TrainableLora.Slots"/> (and in every <see cref="LoraGradients"/>).</summary>
    public int Index { get; } = index;

    public int Layer { get; } = layer;

    public LoraTarget Target { get; } = target;

    public int Rank { get; } = rank;

    public int Inputs { get; } = inputs;

    public int Outputs { get; } = outputs;

    public float[] A { get; } = new float[rank * inputs];

    public float[] B { get; } = new float[outputs * rank];
}

/// <summary>
/// The LoRA factors being trained: one <see cref="LoraSlot"/> per (block, target) of
/// <see cref="LoraTrainingOptions.Targets"/>, A initialised U(±1/√in) (PEFT's kaiming_uniform with
/// a = √5) and B zero, so training starts from the base model exactly.
/// </summary>
internal sealed class TrainableLora
{
    private readonly LoraSlot?[][] _byLayer;

    public TrainableLora(LlamaConfig config, int rank, float scale, IEnumerable<LoraTarget> targets, int seed)
    {
        Scale = scale;
        Rank = rank;
        var random = new Random(seed);
        var slots = new List<LoraSlot>();
        _byLayer = new LoraSlot?[config.Layers][];
        var targetList = targets.ToArray();
        for (var l = 0; l < config.Layers; l++)
        {
            _byLayer[l] = new LoraSlot?[Enum.GetValues<LoraTarget>().Length];
            foreach (var t in targetList)
            {
                var (outputs, inputs) = LoraLayout.Shape(config, t);
                if (rank > LoraLayout.RankLimit(config, t))
                {
                    throw new ArgumentException($"--rank {rank} is larger than the {t} projection allows ({LoraLayout.RankLimit(config, t)})", nameof(rank));
                }

                var slot = new LoraSlot(slots.Count, l, t, rank, inputs, outputs);
                var bound = 1 / MathF.Sqrt(inputs);
                for (var i = 0; i < slot.A.Length; i++)
                {
                    slot.A[i] = ((random.NextSingle() * 2) - 1) * bound;
                }

                slots.Add(slot);
                _byLayer[l][(int)t] = slot;
            }
        }

        Slots = slots;
    }

    /// <summary>alpha / rank.</summary>
    public float Scale { get; }

    public int Rank { get; }

    public IReadOnlyList<LoraSlot> Slots { get; }

    /// <summary>Trainable parameters (all A and B values).</summary>
    public long ParameterCount => Slots.Sum(s => (long)s.A.Length + s.B.Length);

    /// <summary>The slot of <paramref name="target"/> in block <paramref name="layer"/>, or null when it is not adapted.</summary>
    public LoraSlot? Get(int layer, LoraTarget target) => _byLayer[layer][(int)target];

    /// <summary>
    /// A snapshot as a servable <see cref="LoraAdapter"/> (copies of the factors, alpha = scale × rank).
    /// With <paramref name="toAdjacentRope"/> the Q/K B rows are permuted from NeoX order into llama.cpp's
    /// adjacent-pair layout, for a GGUF adapter of a <c>llama</c> model trained over its Hugging Face directory.
    /// </summary>
    public LoraAdapter ToAdapter(string name, LlamaConfig config, bool toAdjacentRope = false)
    {
        var layers = new LoraMatrix?[_byLayer.Length][];
        for (var l = 0; l < layers.Length; l++)
        {
            layers[l] = new LoraMatrix?[_byLayer[l].Length];
            foreach (var s in _byLayer[l])
            {
                if (s is null)
                {
                    continue;
                }

                var b = toAdjacentRope && s.Target is LoraTarget.Query or LoraTarget.Key
                    ? LoraLayout.PermuteRowsToAdjacent(s.B, s.Outputs, s.Rank, config.HeadDim)
                    : (float[])s.B.Clone();
                layers[l][(int)s.Target] = new LoraMatrix(s.Rank, s.Inputs, s.Outputs, (float[])s.A.Clone(), b, Scale);
            }
        }

        return new LoraAdapter(name, "gguf", Scale * Rank, layers);
    }
}

/// <summary>Gradients of every slot's A and B (one set per worker, summed in a fixed order).</summary>
internal sealed class LoraGradients
{
    public LoraGradients(TrainableLora lora)
    {
        A = [.. lora.Slots.Select(s => new float[s.A.Length])];
        B = [.. lora.Slots.Select(s => new float[s.B.Length])];
    }

    /// <summary>∂loss/∂A of each slot, [rank, in].</summary>
    public float[][] A { get; }

    /// <summary>∂loss/∂B of each slot, [out, rank].</summary>
    public float[][] B { get; }

    public void Clear()
    {
        foreach (var g in A.Concat(B))
        {
            Array.Clear(g);
        }
    }

    /// <summary>this += <paramref name="other"/>.</summary>
    public void Add(LoraGradients other)
    {
        for (var i = 0; i < A.Length; i++)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(A[i], other.A[i], A[i]);
            System.Numerics.Tensors.TensorPrimitives.Add(B[i], other.B[i], B[i]);
        }
    }
}
