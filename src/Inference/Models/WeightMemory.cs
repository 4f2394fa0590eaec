namespace Mesh.Inference.Models;

/// <summary>
/// Where a model's weights live while it is served.
/// </summary>
public enum WeightMemory
{
    /// <summary>
    /// <see cref="HugePages"/> where Linux offers transparent huge pages (<c>enabled</c> is <c>always</c>
    /// or <c>madvise</c>), else <see cref="Mapped"/>.
    /// </summary>
    Auto,

    /// <summary>
    /// Read into anonymous memory aligned to 2 MiB and advised as huge pages (<c>MADV_HUGEPAGE</c>).
    /// Decode streams every weight once per token, and on 4 KiB pages the hardware prefetchers stop
    /// at every page boundary (and the TLB misses once per page); on 2 MiB pages the 110M model decoded
    /// 0.98–1.24× as fast as mapped in F32, 1.05–1.15× in Q8_0 and 0.99–1.05× in Q4_0 and Q4_K_M
    /// (four interleaved runs on the dev VM; src/Inference/README.md). The cost: the weights are private
    /// to the process (not shared through the page cache with other processes mapping the same file)
    /// and loading copies them once.
    /// </summary>
    HugePages,

    /// <summary>
    /// Memory-mapped read-only from the file: no copy, and the OS page cache shares the weights
    /// between processes serving the same file (llama.cpp's default).
    /// </summary>
    Mapped,
}
