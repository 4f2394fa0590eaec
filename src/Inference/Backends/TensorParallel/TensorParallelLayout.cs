using Mesh.Inference.Models;

namespace Mesh.Inference.Backends.TensorParallel;

/// <summary>
/// How a Llama model's layers are spread over <see cref="Devices"/> devices (Megatron-LM's tensor
/// parallelism, Shoeybi et al. 2019, as vLLM's ColumnParallelLinear / RowParallelLinear):
/// <list type="bullet">
/// <item>Q, K, V: column-split by heads (device d computes query heads
/// [d·heads/N, (d+1)·heads/N) and their kv heads), so attention runs on each device with no
/// communication (grouped-query attention keeps each query head with its kv head).</item>
/// <item>O: row-split along its input (the concatenated heads): each device multiplies its heads'
/// slice and the partial [tokens][dim] results are all-reduced (summed).</item>
/// <item>gate, up: column-split along hidden_dim; SwiGLU is elementwise, so it stays local.</item>
/// <item>down: row-split along its input (hidden_dim), then all-reduced.</item>
/// <item>embedding, norms: replicated. Classifier: split by vocabulary rows, all-gathered.</item>
/// </list>
/// Two all-reduces per layer and one all-gather of the logits per step. On GPUs the all-reduce is
/// peer copies between devices (cuMemcpyPeer) followed by a sum in device order, so every device
/// holds bit-identical activations. The KV cache of a device holds only its kv heads.
/// </summary>
public sealed record TensorParallelLayout
{
    /// <summary>Builds the layout of <paramref name="config"/> over <paramref name="devices"/> devices.</summary>
    /// <exception cref="ArgumentException">A dimension that must split evenly does not: heads, kv_heads, hidden_dim or the vocabulary by the device count.</exception>
    public TensorParallelLayout(LlamaConfig config, int devices)
    {
        if (devices < 1)
        {
            throw new ArgumentException($"tensor parallelism needs at least one device; got {devices}", nameof(devices));
        }
        foreach (var (name, value) in new[] { ("heads", config.Heads), ("kv_heads", config.KvHeads), ("hidden_dim", config.HiddenDim), ("vocab_size", config.VocabSize) })
        {
            if (value % devices != 0)
            {
                throw new ArgumentException($"{name} ({value}) does not split over {devices} devices; choose a device count that divides it", nameof(devices));
            }
        }
        Config = config;
        Devices = devices;
    }

    /// <summary>The model's hyperparameters.</summary>
    public LlamaConfig Config { get; }

    /// <summary>Number of devices N.</summary>
    public int Devices { get; }

    /// <summary>Query heads per device.</summary>
    public int HeadsPerDevice => Config.Heads / Devices;

    /// <summary>KV heads per device.</summary>
    public int KvHeadsPerDevice => Config.KvHeads / Devices;

    /// <summary>hidden_dim columns of gate/up (rows of down's input) per device.</summary>
    public int HiddenPerDevice => Config.HiddenDim / Devices;

    /// <summary>Classifier rows (vocabulary entries) per device.</summary>
    public int VocabPerDevice => Config.VocabSize / Devices;

    /// <summary>Rows of Q (output features) device <paramref name="device"/> holds; also the columns of O it holds.</summary>
    public Range QueryRows(int device) => Slice(device, HeadsPerDevice * Config.HeadDim);

    /// <summary>Rows of K and of V device <paramref name="device"/> holds.</summary>
    public Range KvRows(int device) => Slice(device, KvHeadsPerDevice * Config.HeadDim);

    /// <summary>Rows of gate and up, and columns of down, device <paramref name="device"/> holds.</summary>
    public Range HiddenRows(int device) => Slice(device, HiddenPerDevice);

    /// <summary>Classifier rows device <paramref name="device"/> holds.</summary>
    public Range VocabRows(int device) => Slice(device, VocabPerDevice);

    private Range Slice(int device, int size)
    {
        if ((uint)device >= (uint)Devices)
        {
            throw new ArgumentOutOfRangeException(nameof(device), device, $"devices are 0..{Devices - 1}");
        }
        return new Range(device * size, (device + 1) * size);
    }
}
