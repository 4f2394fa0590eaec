using System.Numerics.Tensors;

namespace Mesh.Inference.Training;

/// <summary>
/// The products and norms of training's forward and backward passes over [tokens, width] row-major
/// activations, f32 with System.Numerics.Tensors (as llm.c's <c>matmul_forward</c>/<c>matmul_backward</c>,
/// <c>rmsnorm</c> as Llama's). Only input gradients are formed for frozen weights; LoRA factors also get
/// weight gradients.
/// </summary>
internal static class TrainingMath
{
    /// <summary>y[t] = W·x[t] (+ bias) for W [outputs, inputs].</summary>
    public static void Linear(ReadOnlySpan<float> x, int tokens, float[] w, int inputs, int outputs, Span<float> y, float[]? bias = null)
    {
        for (var t = 0; t < tokens; t++)
        {
            var row = x.Slice(t * inputs, inputs);
            var output = y.Slice(t * outputs, outputs);
            for (var o = 0; o < outputs; o++)
            {
                output[o] = TensorPrimitives.Dot(w.AsSpan(o * inputs, inputs), row);
            }

            if (bias is not null)
            {
                TensorPrimitives.Add(output, bias, output);
            }
        }
    }

    /// <summary>dx[t] += Wᵀ·dy[t] for W [outputs, inputs].</summary>
    public static void LinearBackward(ReadOnlySpan<float> dy, int tokens, float[] w, int inputs, int outputs, Span<float> dx)
    {
        for (var t = 0; t < tokens; t++)
        {
            var gradient = dy.Slice(t * outputs, outputs);
            var row = dx.Slice(t * inputs, inputs);
            for (var o = 0; o < outputs; o++)
            {
                if (gradient[o] != 0)
                {
                    TensorPrimitives.MultiplyAdd(w.AsSpan(o * inputs, inputs), gradient[o], row, row);
                }
            }
        }
    }

    /// <summary>LoRA forward: down[t] = A·x[t] (rank values, saved for the backward pass); y[t] += scale · B·down[t].</summary>
    public static void LoraForward(ReadOnlySpan<float> x, int tokens, LoraSlot s, float scale, Span<float> down, Span<float> y)
    {
        Linear(x, tokens, s.A, s.Inputs, s.Rank, down);
        for (var t = 0; t < tokens; t++)
        {
            var d = down.Slice(t * s.Rank, s.Rank);
            var output = y.Slice(t * s.Outputs, s.Outputs);
            for (var o = 0; o < s.Outputs; o++)
            {
                output[o] += scale * TensorPrimitives.Dot(s.B.AsSpan(o * s.Rank, s.Rank), d);
            }
        }
    }

    /// <summary>
    /// LoRA backward of y += scale · B·(A·x): gB += scale · dy ⊗ down, e = scale · Bᵀ·dy, gA += e ⊗ x,
    /// dx += Aᵀ·e. <paramref name="scratch"/> holds rank values.
    /// </summary>
    public static void LoraBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> down, ReadOnlySpan<float> dy, int tokens, LoraSlot s, float scale,
        float[] gradA, float[] gradB, Span<float> dx, Span<float> scratch)
    {
        var e = scratch[..s.Rank];
        for (var t = 0; t < tokens; t++)
        {
            var gradient = dy.Slice(t * s.Outputs, s.Outputs);
            var d = down.Slice(t * s.Rank, s.Rank);
            e.Clear();
            for (var o = 0; o < s.Outputs; o++)
            {
                var g = gradient[o] * scale;
                if (g == 0)
                {
                    continue;
                }

                var bRow = s.B.AsSpan(o * s.Rank, s.Rank);
                TensorPrimitives.MultiplyAdd(d, g, gradB.AsSpan(o * s.Rank, s.Rank), gradB.AsSpan(o * s.Rank, s.Rank));
                TensorPrimitives.MultiplyAdd(bRow, g, e, e);
            }

            var input = x.Slice(t * s.Inputs, s.Inputs);
            var inputGradient = dx.Slice(t * s.Inputs, s.Inputs);
            for (var r = 0; r < s.Rank; r++)
            {
                var gradRow = gradA.AsSpan(r * s.Inputs, s.Inputs);
                TensorPrimitives.MultiplyAdd(input, e[r], gradRow, gradRow);
                TensorPrimitives.MultiplyAdd(s.A.AsSpan(r * s.Inputs, s.Inputs), e[r], inputGradient, inputGradient);
            }
        }
    }

    /// <summary>y = w ⊙ x · r with r = 1/√(mean(x²) + ε) (the serving pass's RMSNorm); returns r.</summary>
    public static float RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, float epsilon)
    {
        var inverse = 1f / MathF.Sqrt((TensorPrimitives.SumOfSquares(x) / x.Length) + epsilon);
        TensorPrimitives.Multiply(x, inverse, y);
        TensorPrimitives.Multiply(y, weight, y);
        return inverse;
    }

    /// <summary>
    /// dx += r·(w ⊙ dy) − (r³ / n)·x·Σ(w ⊙ dy ⊙ x), the gradient of <see cref="RmsNorm"/> (weight frozen).
    /// <paramref name="scratch"/> holds n values.
    /// </summary>
    public static void RmsNormBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, float inverse, ReadOnlySpan<float> dy, Span<float> dx, Span<float> scratch)
    {
        var wdy = scratch[..x.Length];
        TensorPrimitives.Multiply(weight, dy, wdy);
        var dot = TensorPrimitives.Dot(wdy, x);
        TensorPrimitives.MultiplyAdd(wdy, inverse, dx, dx);
        TensorPrimitives.MultiplyAdd(x, -inverse * inverse * inverse * dot / x.Length, dx, dx);
    }
}
