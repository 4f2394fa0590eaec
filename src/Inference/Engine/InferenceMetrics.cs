using System.Diagnostics.Metrics;

namespace Mesh.Inference.Engine;

/// <summary>
/// The engine's metrics, named after the OpenTelemetry GenAI semantic conventions where they define
/// one (gen_ai.server.*) and after vLLM's otherwise (requests running/waiting, KV blocks, prefix
/// cache queries and hits, preemptions). Exported on /metrics and over OTLP.
/// </summary>
public sealed class InferenceMetrics : IDisposable
{
    /// <summary>The <see cref="Meter"/> name the host subscribes to for export.</summary>
    public const string MeterName = "Mesh.Inference";
    private static readonly double[] LatencyBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60];

    private readonly Meter _meter;

    /// <summary>
    /// Creates the instruments, each tagged <c>gen_ai.request.model</c> = <paramref name="model"/>;
    /// <paramref name="state"/> is read (from the exporter's thread) for the running/waiting and KV block gauges.
    /// </summary>
    public InferenceMetrics(string model, Func<(int Running, int Waiting, int UsedBlocks, int FreeBlocks)> state)
    {
        _meter = new Meter(MeterName);
        var tags = new KeyValuePair<string, object?>("gen_ai.request.model", model);
        TimeToFirstToken = _meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s", "Time from a request's arrival to its first generated token", [tags], new() { HistogramBucketBoundaries = LatencyBuckets });
        TimePerOutputToken = _meter.CreateHistogram<double>("gen_ai.server.time_per_output_token", "s", "Time per generated token after the first", [tags], new() { HistogramBucketBoundaries = LatencyBuckets });
        RequestDuration = _meter.CreateHistogram<double>("gen_ai.server.request.duration", "s", "End-to-end time of a generation request", [tags], new() { HistogramBucketBoundaries = LatencyBuckets });
        PromptTokens = _meter.CreateCounter<long>("mesh.inference.prompt_tokens", "{token}", "Prompt tokens processed (cached ones included)", [tags]);
        GenerationTokens = _meter.CreateCounter<long>("mesh.inference.generation_tokens", "{token}", "Tokens generated", [tags]);
        PrefixCacheQueries = _meter.CreateCounter<long>("mesh.inference.prefix_cache.queries", "{token}", "Prompt tokens looked up in the prefix cache", [tags]);
        PrefixCacheHits = _meter.CreateCounter<long>("mesh.inference.prefix_cache.hits", "{token}", "Prompt tokens served from the prefix cache", [tags]);
        Preemptions = _meter.CreateCounter<long>("mesh.inference.preemptions", "{sequence}", "Running sequences preempted for lack of KV blocks", [tags]);
        SpecDecodeDrafts = _meter.CreateCounter<long>("mesh.inference.spec_decode.num_drafts", "{draft}", "Decode steps of a sequence that verified draft tokens", [tags]);
        SpecDecodeDraftTokens = _meter.CreateCounter<long>("mesh.inference.spec_decode.num_draft_tokens", "{token}", "Draft tokens proposed and verified by speculative decoding", [tags]);
        SpecDecodeAcceptedTokens = _meter.CreateCounter<long>("mesh.inference.spec_decode.num_accepted_tokens", "{token}", "Draft tokens the target model accepted (acceptance rate = accepted / draft tokens)", [tags]);
        _meter.CreateObservableGauge("mesh.inference.requests.running", () => new Measurement<int>(state().Running, tags), "{request}", "Requests in the running batch");
        _meter.CreateObservableGauge("mesh.inference.requests.waiting", () => new Measurement<int>(state().Waiting, tags), "{request}", "Requests waiting for admission");
        _meter.CreateObservableGauge("mesh.inference.kv_cache.blocks.used", () => new Measurement<int>(state().UsedBlocks, tags), "{block}", "KV cache blocks referenced by sequences");
        _meter.CreateObservableGauge("mesh.inference.kv_cache.blocks.free", () => new Measurement<int>(state().FreeBlocks, tags), "{block}", "KV cache blocks free or holding idle cached prefixes");
    }

    /// <c>gen_ai.server.time_to_first_token</c>, seconds from arrival to the first generated token.
    public Histogram<double> TimeToFirstToken { get; }

    /// <c>gen_ai.server.time_per_output_token</c>, seconds per generated token after the first.
    public Histogram<double> TimePerOutputToken { get; }

    /// <c>gen_ai.server.request.duration</c>, seconds from arrival to the last token.
    public Histogram<double> RequestDuration { get; }

    /// <c>mesh.inference.prompt_tokens</c>: prompt tokens processed, cached ones included.
    public Counter<long> PromptTokens { get; }

    /// <c>mesh.inference.generation_tokens</c>: tokens generated.
    public Counter<long> GenerationTokens { get; }

    /// <c>mesh.inference.prefix_cache.queries</c>: prompt tokens looked up in the prefix cache.
    public Counter<long> PrefixCacheQueries { get; }

    /// <c>mesh.inference.prefix_cache.hits</c>: prompt tokens served from the cache (hit rate = hits / queries).
    public Counter<long> PrefixCacheHits { get; }

    /// <c>mesh.inference.preemptions</c>: running sequences preempted (by recompute) for lack of KV blocks.
    public Counter<long> Preemptions { get; }

    /// <c>mesh.inference.spec_decode.num_drafts</c>: sequence steps that verified drafts (vLLM's <c>spec_decode_num_drafts</c>).
    public Counter<long> SpecDecodeDrafts { get; }

    /// <c>mesh.inference.spec_decode.num_draft_tokens</c>: draft tokens verified (vLLM's <c>spec_decode_num_draft_tokens</c>).
    public Counter<long> SpecDecodeDraftTokens { get; }

    /// <c>mesh.inference.spec_decode.num_accepted_tokens</c>: draft tokens accepted (vLLM's <c>spec_decode_num_accepted_tokens</c>).
    public Counter<long> SpecDecodeAcceptedTokens { get; }

    /// <summary>Disposes the meter, which ends every instrument's export.</summary>
    public void Dispose() => _meter.Dispose();
}
