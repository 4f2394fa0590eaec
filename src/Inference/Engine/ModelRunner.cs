using System.Diagnostics;
using System.Runtime.InteropServices;
using Mesh.Inference.Backends;
using Mesh.Inference.Sampling;

namespace Mesh.Inference.Engine;

/// <summary>
/// Executes a <see cref="SchedulerOutput"/> on one backend and samples, as vLLM v1's model runner:
/// builds the <see cref="ForwardBatch"/> (tokens, positions, block tables), runs the forward pass,
/// and for every sequence that samples this step applies its <see cref="ILogitsProcessor"/>, reads
/// out logprobs and draws the token with its <see cref="Sampler"/>.
/// <para>
/// This is the seam for work on the logits: per-request masks plug in through
/// <see cref="GenerationRequest.LogitsProcessor"/> (<see cref="ProcessAndSample"/>); GPU sampling
/// replaces the copy of every logits row to the host and <see cref="ProcessAndSample"/>'s CPU draw
/// when the backend is an <see cref="IDeviceSamplingBackend"/> configured for it.
/// Used only from the engine's thread.
/// </para>
/// </summary>
internal sealed class ModelRunner(IInferenceBackend backend, int vocabSize)
{
    private readonly ForwardBatch _batch = new();
    private readonly DeviceSamplingBatch _deviceSampling = new(vocabSize);
    private float[] _logits = [];
    private int[] _tokens = [];
    private int[] _context = [];
    private readonly List<(Sequence Sequence, int Row)> _independent = [];
    private SampledToken[] _sampledRows = [];

    public IInferenceBackend Backend { get; } = backend;

    /// <summary>Tokens in the largest batch run so far.</summary>
    public int MaxBatchTokens { get; private set; }

    /// <summary>Runs one step and samples the next token of every sequence whose <see cref="ScheduledSequence.Sample"/> is set, in schedule order.</summary>
    public ModelRunnerOutput Execute(SchedulerOutput scheduled)
    {
        _batch.Clear();
        foreach (var (s, start, count, sample, drafts) in scheduled.Scheduled)
        {
            var seq = _batch.AddSequence(s.Kv.Table, s.Request.Adapter);
            var tokens = CollectionsMarshal.AsSpan(s.Tokens);
            for (var p = start; p < start + count; p++)
            {
                _batch.AddToken(seq, tokens[p], p, sample && p == start + count - 1);
            }

            // Drafts ride along as the next positions, each with its logits row (verification).
            for (var i = 0; i < drafts.Length; i++)
            {
                _batch.AddToken(seq, drafts[i], start + count + i, wantLogits: true);
            }
        }

        var output = new ModelRunnerOutput();
        if (_batch.Count == 0)
        {
            return output;
        }

        if (scheduled.DraftTokens == 0 && Backend is IDeviceSamplingBackend { SamplesOnDevice: true } device && TryDescribeSampling(scheduled))
        {
            if (_tokens.Length < _batch.LogitCount)
            {
                _tokens = new int[_batch.LogitCount];
            }
            device.ForwardAndSample(_batch, _deviceSampling, _tokens);
            MaxBatchTokens = Math.Max(MaxBatchTokens, _batch.Count);
            output.Timestamp = Stopwatch.GetTimestamp();
            var index = 0;
            foreach (var (s, _, _, sample, _) in scheduled.Scheduled)
            {
                if (sample)
                {
                    output.Sampled.Add(new SampledToken(s, _tokens[index++], null));
                }
            }
            return output;
        }

        EnsureLogits(_batch.LogitCount);
        Backend.Forward(_batch, _logits);
        MaxBatchTokens = Math.Max(MaxBatchTokens, _batch.Count);
        output.Timestamp = Stopwatch.GetTimestamp();
        var parallel = SampleIndependentRows(scheduled);
        var row = 0;
        foreach (var (s, _, _, sample, drafts) in scheduled.Scheduled)
        {
            if (!sample)
            {
                continue;
            }

            if (drafts.Length == 0)
            {
                output.Sampled.Add(parallel && s.Request.LogitsProcessor is null
                    ? _sampledRows[row]
                    : ProcessAndSample(s, _logits.AsSpan(row * vocabSize, vocabSize), CollectionsMarshal.AsSpan(s.Tokens), (ulong)s.OutputLength));
                row++;
            }
            else
            {
                Verify(s, drafts, row, output);
                row += 1 + drafts.Length;
            }
        }

        return output;
    }

    /// <summary>
    /// Samples, on the backend's workers where it lends them (<see cref="IHostParallelism"/>), the rows
    /// of the sequences that draw one token with no logits processor: each has its own sampler and
    /// row, so they are independent. Rows with a processor (a grammar's shared automaton) and verify
    /// runs stay on the engine thread, in order. False when nothing was sampled here.
    /// </summary>
    private bool SampleIndependentRows(SchedulerOutput scheduled)
    {
        if (Backend is not IHostParallelism workers)
        {
            return false;
        }

        _independent.Clear();
        var row = 0;
        foreach (var (s, _, _, sample, drafts) in scheduled.Scheduled)
        {
            if (!sample)
            {
                continue;
            }

            if (drafts.Length == 0 && s.Request.LogitsProcessor is null)
            {
                _independent.Add((s, row));
            }

            row += 1 + drafts.Length;
        }

        if (_independent.Count < 2)
        {
            return false;
        }

        if (_sampledRows.Length < row)
        {
            _sampledRows = new SampledToken[row];
        }

        var logits = _logits;
        workers.For(_independent.Count, (long)_independent.Count * vocabSize * 8, i =>
        {
            var (s, r) = _independent[i];
            _sampledRows[r] = ProcessAndSample(s, logits.AsSpan(r * vocabSize, vocabSize), CollectionsMarshal.AsSpan(s.Tokens), (ulong)s.OutputLength);
        });
        return true;
    }

    /// <summary>
    /// Speculative decoding's acceptance, kept exact: the sampler draws at each position i of the
    /// run (0 = after the sequence's last token, i = after draft i − 1) from that row, with the
    /// context and the draw number (OutputLength + i) plain decoding would have had there if the
    /// drafts before were its tokens. While the drawn token equals the draft, the draft is
    /// accepted; the first mismatch's token (or the token after the last draft) ends the run. Each
    /// token is therefore the one plain decoding draws, for greedy and seeded sampling alike: the
    /// Philox draws are numbered by output position, not by step. (vLLM's rejection sampler keeps
    /// only the distribution for random sampling; this keeps the tokens.)
    /// </summary>
    private void Verify(Sequence s, int[] drafts, int row, ModelRunnerOutput output)
    {
        var length = s.Tokens.Count;
        if (_context.Length < length + drafts.Length)
        {
            _context = new int[(length + drafts.Length) * 2];
        }

        CollectionsMarshal.AsSpan(s.Tokens).CopyTo(_context);
        drafts.CopyTo(_context.AsSpan(length));
        for (var i = 0; i <= drafts.Length; i++)
        {
            var logits = _logits.AsSpan((row + i) * vocabSize, vocabSize);
            var sampled = ProcessAndSample(s, logits, _context.AsSpan(0, length + i), (ulong)(s.OutputLength + i));
            var accepted = i < drafts.Length && sampled.Token == drafts[i];
            output.Sampled.Add(sampled with { AcceptedDraft = accepted });
            if (!accepted)
            {
                return;
            }
        }
    }

    /// <summary>
    /// log P(tokens[i + 1] | tokens[0..i]) for every i, running the text through the model in chunks
    /// of <paramref name="chunk"/> tokens with the KV blocks in <paramref name="blockTable"/> and
    /// <paramref name="adapter"/> (null: the bare base model).
    /// </summary>
    public float[] Score(int[] tokens, int[] blockTable, int chunk, Models.Lora.LoraAdapter? adapter, CancellationToken cancellation)
    {
        var result = new float[Math.Max(0, tokens.Length - 1)];
        chunk = Math.Max(1, chunk);
        EnsureLogits(chunk);
        for (var start = 0; start < tokens.Length - 1; start += chunk)
        {
            cancellation.ThrowIfCancellationRequested();
            var count = Math.Min(chunk, tokens.Length - 1 - start);
            _batch.Clear();
            var seq = _batch.AddSequence(blockTable, adapter);
            for (var i = start; i < start + count; i++)
            {
                _batch.AddToken(seq, tokens[i], i, wantLogits: true);
            }

            Backend.Forward(_batch, _logits);
            for (var i = 0; i < count; i++)
            {
                result[start + i] = LogProbabilities.Of(_logits.AsSpan(i * vocabSize, vocabSize), tokens[start + i + 1]);
            }
        }

        return result;
    }

    /// <summary>
    /// The per-sequence logits path, in order: the request's logits processor (masks) on the row in
    /// place, the reported logprobs of the processed row (before penalties and temperature, as vLLM's
    /// default), then the sampler's draw number <paramref name="draw"/> given the sequence's tokens
    /// so far, <paramref name="tokens"/> (prompt, then output).
    /// </summary>
    private static SampledToken ProcessAndSample(Sequence s, Span<float> logits, ReadOnlySpan<int> tokens, ulong draw)
    {
        var request = s.Request;
        request.LogitsProcessor?.Process(logits, tokens[s.PromptLength..]);
        var sampler = s.Sampler ?? throw new InvalidOperationException($"request {request.RequestId} has no sampler");
        var token = sampler.Sample(logits, tokens, draw);
        var logprobs = request.TopLogprobs > 0 ? LogProbabilities.For(logits, token, request.TopLogprobs) : null;
        return new SampledToken(s, token, logprobs);
    }

    /// <summary>
    /// Describes this step's sampling for the device (<see cref="DeviceSamplingBatch"/>), in the
    /// same order as <see cref="ProcessAndSample"/>: mask, penalties, draw number OutputLength.
    /// False, before touching any processor, when a row needs the logits on the host: logprobs
    /// asked for, or a logits processor that is not mask-only.
    /// </summary>
    private bool TryDescribeSampling(SchedulerOutput scheduled)
    {
        foreach (var (s, _, _, sample, _) in scheduled.Scheduled)
        {
            if (sample && (s.Request.TopLogprobs > 0 || s.Sampler is null || s.Request.LogitsProcessor is { MasksOnly: false }))
            {
                return false;
            }
        }
        _deviceSampling.Clear();
        foreach (var (s, _, _, sample, _) in scheduled.Scheduled)
        {
            if (sample)
            {
                var tokens = CollectionsMarshal.AsSpan(s.Tokens);
                _deviceSampling.Add(s.Sampler!.Parameters, tokens, tokens[s.PromptLength..], (ulong)s.OutputLength, s.Request.LogitsProcessor);
            }
        }
        return true;
    }

    private void EnsureLogits(int rows)
    {
        if (_logits.Length < rows * vocabSize)
        {
            _logits = new float[rows * vocabSize];
        }
    }
}
