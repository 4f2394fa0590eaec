using Mesh.Inference.Sampling;

namespace Mesh.Inference.Engine;

/// <summary>Where a sequence is in the scheduler.</summary>
internal enum SequenceStatus
{
    Waiting,
    Running,
    Finished,
}

/// <summary>
/// The scheduler's state of one request (vLLM's <c>Request</c>): its tokens so far (prompt, then
/// output), how many of them have keys and values in the KV cache, the blocks holding them, and how
/// its next token is chosen. Changed only on the scheduler's thread, except <see cref="Abort"/>.
/// </summary>
internal sealed class Sequence(GenerationRequest request, long arrivalOrder, Sampler? sampler, RequestState? output, CancellationToken cancellation)
{
    private volatile bool _aborted;

    public GenerationRequest Request { get; } = request;

    /// <summary>Admission order among equal priorities.</summary>
    public long ArrivalOrder { get; } = arrivalOrder;

    public SequenceStatus Status { get; set; } = SequenceStatus.Waiting;

    public List<int> Tokens { get; } = [.. request.PromptTokens];

    public int PromptLength { get; } = request.PromptTokens.Length;

    public int OutputLength => Tokens.Count - PromptLength;

    /// <summary>Tokens whose keys and values are in the cache (a prefix of <see cref="Tokens"/>).</summary>
    public int Computed { get; set; }

    /// <summary>Tokens still to compute before the next token can be sampled.</summary>
    public int Pending => Tokens.Count - Computed;

    public SequenceKvBlocks Kv { get; } = new();

    /// <summary>Prompt tokens served from the prefix cache at the first admission.</summary>
    public int CachedPromptTokens { get; set; }

    public bool EverAdmitted { get; set; }

    /// <summary>Chooses the next token; null only in scheduler tests, which run no model.</summary>
    public Sampler? Sampler { get; } = sampler;

    /// <summary>The output side of the request (stream, detokenizer, stop strings); null only in scheduler tests.</summary>
    public RequestState? Output { get; } = output;

    public CancellationToken Cancellation { get; } = cancellation;

    /// <summary>Set when the output processor has finished the request (a stop string matched).</summary>
    public bool Aborted => _aborted;

    /// <summary>Asks the scheduler to drop the sequence at its next step; callable from any thread.</summary>
    public void Abort() => _aborted = true;
}
