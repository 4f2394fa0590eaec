using System.Numerics.Tensors;
using Mesh.Inference.Models.Lora;

namespace Mesh.Inference.Backends.Cpu;

/// <summary>
/// The LoRA part of each adapted projection, y += scale · B·(A·x), computed per adapter group of a
/// mixed batch as Punica's/S-LoRA's batched kernels do (the base product W·x is shared by every
/// sequence; only the tokens of sequences with adapter a multiply with a's factors). Groups are
/// found once per forward pass; the products use f32 and TensorPrimitives, in a fixed order, so a
/// sequence's result does not depend on what else is in the batch.
/// </summary>
internal sealed unsafe class CpuLora
{
    private readonly List<(LoraAdapter Adapter, List<int> Tokens)> _groups = [];
    private float[] _down = [];

    /// <summary>Groups the batch's tokens by their sequence's adapter (tokens of the bare base are left out).</summary>
    public void Group(ForwardBatch batch)
    {
        _groups.Clear();
        if (!batch.HasAdapters)
        {
            return;
        }

        var sequenceOf = batch.SequenceOf;
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch.Adapters[sequenceOf[i]] is not { } adapter)
            {
                continue;
            }

            var group = _groups.FindIndex(g => ReferenceEquals(g.Adapter, adapter));
            if (group < 0)
            {
                _groups.Add((adapter, []));
                group = _groups.Count - 1;
            }

            _groups[group].Tokens.Add(i);
        }
    }

    /// <summary>
    /// Adds each group's update of <paramref name="target"/> in block <paramref name="layer"/> to the
    /// output rows (<paramref name="output"/>, [tokens, out]) from the input rows (<paramref name="input"/>, [tokens, in]).
    /// </summary>
    public void Apply(int layer, LoraTarget target, CpuActivations input, float* output)
    {
        foreach (var (adapter, tokens) in _groups)
        {
            if (adapter.Get(layer, target) is not { } m)
            {
                continue;
            }

            if (_down.Length < m.Rank)
            {
                _down = new float[Math.Max(m.Rank, LoraLayout.MaxRank)];
            }

            var down = _down.AsSpan(0, m.Rank);
            foreach (var i in tokens)
            {
                // d = scale · A·x (rank values), then y += B·d, row by row.
                var x = input.Row(i);
                for (var r = 0; r < m.Rank; r++)
                {
                    down[r] = TensorPrimitives.Dot(m.A.AsSpan(r * m.Inputs, m.Inputs), x) * m.Scale;
                }

                var y = new Span<float>(output + ((nint)i * m.Outputs), m.Outputs);
                for (var o = 0; o < m.Outputs; o++)
                {
                    y[o] += TensorPrimitives.Dot(m.B.AsSpan(o * m.Rank, m.Rank), down);
                }
            }
        }
    }
}
