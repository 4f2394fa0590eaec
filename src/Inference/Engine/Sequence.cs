using System.Diagnostics;
using System.Threading.Channels;
using Mesh.Inference.Sampling;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Engine;

/// <summary>
/// The scheduler's state of one request: its tokens so far (prompt, then output), how many of them
/// have keys and values in the KV cache, the blocks holding them, and where its output goes.
/// </summary>
internal sealed class Sequence(GenerationRequest request, long arrivalOrder, Sampler sampler, StreamingDetokenizer detokenizer, CancellationToken cancellation)
{
    private readonly Channel<GenerationChunk> _output = Channel.CreateUnbounded<GenerationChunk>(new() { SingleWriter = true, SingleReader = true });

    public GenerationRequest Request { get; } = request;

    /// <summary>Admission order among equal priorities.</summary>
    public long ArrivalOrder { get; } = arrivalOrder;

    public long ArrivalTimestamp { get; } = Stopwatch.GetTimestamp();

    public long FirstTokenTimestamp { get; set; }

    public List<int> Tokens { get; } = [.. request.PromptTokens];

    public int PromptLength { get; } = request.PromptTokens.Length;

    public int OutputLength => Tokens.Count - PromptLength;

    /// <summary>Tokens whose keys and values are in the cache (a prefix of <see cref="Tokens"/>).</summary>
    public int Computed { get; set; }

    /// <summary>KV block table: block i holds positions [i·B, (i+1)·B).</summary>
    public List<int> Blocks { get; } = [];

    /// <summary>Prefix hashes of the leading full blocks that are known (cached or registered).</summary>
    public List<ulong> BlockHashes { get; } = [];

    /// <summary>Prompt tokens served from the prefix cache at the first admission.</summary>
    public int CachedPromptTokens { get; set; }

    public bool EverAdmitted { get; set; }

    public Sampler Sampler { get; } = sampler;

    public StreamingDetokenizer Detokenizer { get; } = detokenizer;

    public StopSequenceMatcher StopMatcher { get; } = new(request.Stop);

    public CancellationToken Cancellation { get; } = cancellation;

    public ChannelReader<GenerationChunk> Output => _output.Reader;

    /// <summary>Tokens still to compute before the next token can be sampled.</summary>
    public int Pending => Tokens.Count - Computed;

    public void Emit(GenerationChunk chunk) => _output.Writer.TryWrite(chunk);

    public void Complete(Exception? error = null) => _output.Writer.TryComplete(error);
}
