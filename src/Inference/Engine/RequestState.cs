using System.Diagnostics;
using System.Threading.Channels;
using Mesh.Inference.Sampling;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Engine;

/// <summary>
/// The output side of one request (vLLM's <c>RequestState</c> in its output processor): the stream
/// the caller reads, the incremental detokenizer, the stop-string matcher and the timings. Touched
/// only by the <see cref="OutputProcessor"/>.
/// </summary>
internal sealed class RequestState(GenerationRequest request, StreamingDetokenizer detokenizer)
{
    private readonly Channel<GenerationChunk> _output = Channel.CreateUnbounded<GenerationChunk>(new() { SingleWriter = true, SingleReader = true });

    public GenerationRequest Request { get; } = request;

    public StreamingDetokenizer Detokenizer { get; } = detokenizer;

    public StopSequenceMatcher StopMatcher { get; } = new(request.Stop);

    public long ArrivalTimestamp { get; } = Stopwatch.GetTimestamp();

    public long FirstTokenTimestamp { get; set; }

    /// <summary>Tokens returned to the caller.</summary>
    public int CompletionTokens { get; set; }

    /// <summary>True once the final chunk (or an error) has been written; later events are dropped.</summary>
    public bool Finished { get; private set; }

    /// <summary>The scheduler's side, to abort when a stop string ends the request here.</summary>
    public Sequence? Sequence { get; set; }

    public ChannelReader<GenerationChunk> Output => _output.Reader;

    public void Emit(GenerationChunk chunk) => _output.Writer.TryWrite(chunk);

    public void Complete(Exception? error = null)
    {
        Finished = true;
        _output.Writer.TryComplete(error);
    }
}
