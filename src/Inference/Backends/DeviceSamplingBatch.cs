using Mesh.Inference.Engine;
using Mesh.Inference.Sampling;
using Mesh.Kernels.Reference;
using Mesh.Kernels.Sampling;

namespace Mesh.Inference.Backends;

/// <summary>
/// Everything the device needs to finish one step's sampling, built on the host without the
/// logits, in the layouts logits_process_f32 and sample_f32 read: per logit row a
/// <see cref="SamplingRow"/> (temperature, top-k/p, min-p, seed, draw number), a mask of allowed
/// tokens (all ones without a logits processor), the row's penalties and its distinct recent
/// tokens with their counts (the CPU <see cref="Sampler"/>'s window). Rows are added in logit-row
/// order; reused across steps.
/// </summary>
public sealed class DeviceSamplingBatch(int vocabSize)
{
    private readonly List<SamplingRow> _rows = [];
    private readonly List<LogitPenalties> _penalties = [];
    private readonly List<int> _offsets = [0];
    private readonly List<int> _tokens = [];
    private readonly List<int> _counts = [];
    private readonly Dictionary<int, int> _window = [];
    private uint[] _masks = [];

    /// <summary>Vocabulary size of every row.</summary>
    public int VocabSize { get; } = vocabSize;

    /// <summary>u32 mask words per row.</summary>
    public int MaskWords { get; } = LogitsProcessingReference.MaskWords(vocabSize);

    /// <summary>Rows added.</summary>
    public int Count => _rows.Count;

    /// <summary>Per-row sampling parameters (sample_f32's row records).</summary>
    public ReadOnlySpan<SamplingRow> Rows => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_rows);

    /// <summary>Per-row penalties.</summary>
    public ReadOnlySpan<LogitPenalties> Penalties => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_penalties);

    /// <summary>[Count][MaskWords] allowed-token bits.</summary>
    public ReadOnlySpan<uint> Masks => _masks.AsSpan(0, Count * MaskWords);

    /// <summary>Count + 1 offsets into <see cref="PenaltyTokens"/>: row r's pairs are [Offsets[r], Offsets[r+1]).</summary>
    public ReadOnlySpan<int> PenaltyOffsets => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_offsets);

    /// <summary>The distinct penalised tokens of every row, row after row.</summary>
    public ReadOnlySpan<int> PenaltyTokens => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_tokens);

    /// <summary>How often each of <see cref="PenaltyTokens"/> occurs in its row's window.</summary>
    public ReadOnlySpan<int> PenaltyCounts => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_counts);

    /// <summary>Row <paramref name="row"/>'s mask words.</summary>
    public ReadOnlySpan<uint> Mask(int row) => _masks.AsSpan(row * MaskWords, MaskWords);

    /// <summary>Row <paramref name="row"/>'s distinct penalised tokens.</summary>
    public ReadOnlySpan<int> PenaltyTokensOf(int row) => PenaltyTokens[_offsets[row].._offsets[row + 1]];

    /// <summary>How often each of <see cref="PenaltyTokensOf"/>(<paramref name="row"/>) occurs.</summary>
    public ReadOnlySpan<int> PenaltyCountsOf(int row) => PenaltyCounts[_offsets[row].._offsets[row + 1]];

    /// <summary>Empties the batch for the next step.</summary>
    public void Clear()
    {
        _rows.Clear();
        _penalties.Clear();
        _offsets.RemoveRange(1, _offsets.Count - 1);
        _tokens.Clear();
        _counts.Clear();
    }

    /// <summary>
    /// Adds the row for draw <paramref name="draw"/> of a sequence with <paramref name="parameters"/>,
    /// its <paramref name="context"/> (prompt and output, for the penalties) and optional
    /// <paramref name="processor"/>, which must be <see cref="ILogitsProcessor.MasksOnly"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The processor needs the logits on the host.</exception>
    public void Add(SamplingParameters parameters, ReadOnlySpan<int> context, ReadOnlySpan<int> outputTokens, ulong draw, ILogitsProcessor? processor)
    {
        var row = Count;
        if (_masks.Length < (row + 1) * MaskWords)
        {
            Array.Resize(ref _masks, Math.Max((row + 1) * MaskWords, _masks.Length * 2));
        }
        var mask = _masks.AsSpan(row * MaskWords, MaskWords);
        if (processor is null)
        {
            mask.Fill(uint.MaxValue);
        }
        else if (processor.MasksOnly)
        {
            processor.WriteMask(mask, VocabSize, outputTokens);
        }
        else
        {
            throw new ArgumentException($"{processor.GetType().Name} needs the logits on the host; it cannot be applied as a mask", nameof(processor));
        }

        _window.Clear();
        if (parameters.HasPenalties)
        {
            foreach (var token in Sampler.PenaltyWindow(parameters, context))
            {
                _window[token] = _window.GetValueOrDefault(token) + 1;
            }
        }
        foreach (var (token, count) in _window)
        {
            _tokens.Add(token);
            _counts.Add(count);
        }
        _offsets.Add(_tokens.Count);
        _penalties.Add(parameters.HasPenalties ? new LogitPenalties(parameters.RepetitionPenalty, parameters.FrequencyPenalty, parameters.PresencePenalty) : LogitPenalties.None);
        _rows.Add(new SamplingRow(parameters.Temperature, (uint)Math.Max(0, parameters.TopK), parameters.TopP, parameters.MinP, parameters.Seed, (uint)draw));
    }
}
