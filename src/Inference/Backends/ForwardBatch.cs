using Mesh.Inference.Models.Lora;

namespace Mesh.Inference.Backends;

/// <summary>
/// The tokens of one model step: prompt chunks of sequences being prefilled and the next token of
/// sequences being decoded, run together so that one pass over the weights serves them all.
/// Token i belongs to sequence <see cref="SequenceOf"/>[i] at position <see cref="Positions"/>[i];
/// its keys and values are written to the KV cache slot that the sequence's block table maps that
/// position to, and it attends to positions 0..Positions[i] of its own sequence (causal).
/// </summary>
public sealed class ForwardBatch
{
    private int[] _tokens = new int[16];
    private int[] _positions = new int[16];
    private int[] _sequenceOf = new int[16];
    private int[] _logitTokens = new int[16];
    private readonly List<int[]> _blockTables = [];
    private readonly List<LoraAdapter?> _adapters = [];

    /// <summary>Number of tokens in the batch.</summary>
    public int Count { get; private set; }

    /// <summary>Number of tokens whose logits are wanted (one row each in the logits output).</summary>
    public int LogitCount { get; private set; }

    /// <summary>
    /// Token ids, [<see cref="Count"/>]; each inside the vocabulary (checked by <see cref="Validate"/>).
    /// </summary>
    public ReadOnlySpan<int> Tokens => _tokens.AsSpan(0, Count);

    /// <summary>
    /// Position of each token in its sequence, [<see cref="Count"/>]; 0-based, below the context length.
    /// </summary>
    public ReadOnlySpan<int> Positions => _positions.AsSpan(0, Count);

    /// <summary>Index (into <see cref="BlockTables"/>) of each token's sequence, [<see cref="Count"/>].</summary>
    public ReadOnlySpan<int> SequenceOf => _sequenceOf.AsSpan(0, Count);

    /// <summary>Indices (into the batch) of the tokens whose logits are wanted, in output row order.</summary>
    public ReadOnlySpan<int> LogitTokens => _logitTokens.AsSpan(0, LogitCount);

    /// <summary>Block tables of the batch's sequences: block ids of the paged KV cache, in position order.</summary>
    public IReadOnlyList<int[]> BlockTables => _blockTables;

    /// <summary>
    /// The LoRA adapter of each of the batch's sequences (null: the bare base model), parallel to
    /// <see cref="BlockTables"/>. Sequences with different adapters share the batch: the base weights
    /// are read once for all, and each adapter's low-rank product is computed for its own tokens.
    /// </summary>
    public IReadOnlyList<LoraAdapter?> Adapters => _adapters;

    /// <summary>True when some sequence of the batch runs with an adapter.</summary>
    public bool HasAdapters { get; private set; }

    /// <summary>
    /// Checks what every backend relies on: token ids inside the vocabulary, positions inside the
    /// context, room for the logits. Backends call it first, so a bad batch fails the same way on each.
    /// </summary>
    public void Validate(Models.LlamaConfig config, int logitsLength)
    {
        if (logitsLength < LogitCount * config.VocabSize)
        {
            throw new ArgumentException($"logits needs room for {LogitCount} rows of {config.VocabSize}", nameof(logitsLength));
        }

        foreach (var adapter in _adapters)
        {
            if (adapter is not null && adapter.Layers != config.Layers)
            {
                throw new ArgumentException($"adapter '{adapter.Name}' has {adapter.Layers} blocks but the model has {config.Layers}", nameof(config));
            }
        }

        for (var i = 0; i < Count; i++)
        {
            if ((uint)_tokens[i] >= (uint)config.VocabSize)
            {
                throw new ArgumentOutOfRangeException(nameof(config), $"token id {_tokens[i]} is outside the vocabulary of {config.VocabSize}");
            }

            if ((uint)_positions[i] >= (uint)config.ContextLength)
            {
                throw new ArgumentOutOfRangeException(nameof(config), $"position {_positions[i]} is outside the context of {config.ContextLength}");
            }
        }
    }

    /// <summary>
    /// Empties the batch for reuse; the buffers keep their capacity, so a steady batch allocates nothing.
    /// </summary>
    public void Clear()
    {
        Count = 0;
        LogitCount = 0;
        _blockTables.Clear();
        _adapters.Clear();
        HasAdapters = false;
    }

    /// <summary>
    /// Adds a sequence, run with <paramref name="adapter"/> (null: none), and returns its index for <see cref="AddToken"/>.
    /// </summary>
    public int AddSequence(int[] blockTable, LoraAdapter? adapter = null)
    {
        _blockTables.Add(blockTable);
        _adapters.Add(adapter);
        HasAdapters |= adapter is not null;
        return _blockTables.Count - 1;
    }

    /// <summary>
    /// Appends <paramref name="token"/> at <paramref name="position"/> of sequence <paramref name="sequence"/>
    /// (an index from <see cref="AddSequence"/>; otherwise <see cref="ArgumentOutOfRangeException"/>). With
    /// <paramref name="wantLogits"/> its logits get the next row of the output.
    /// </summary>
    public void AddToken(int sequence, int token, int position, bool wantLogits)
    {
        if ((uint)sequence >= (uint)_blockTables.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(sequence));
        }

        if (Count == _tokens.Length)
        {
            var size = Count * 2;
            Array.Resize(ref _tokens, size);
            Array.Resize(ref _positions, size);
            Array.Resize(ref _sequenceOf, size);
            Array.Resize(ref _logitTokens, size);
        }

        _tokens[Count] = token;
        _positions[Count] = position;
        _sequenceOf[Count] = sequence;
        if (wantLogits)
        {
            _logitTokens[LogitCount++] = Count;
        }

        Count++;
    }
}
