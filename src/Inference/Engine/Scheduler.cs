using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mesh.Inference.Engine;

/// <summary>
/// Decides what each step computes, as vLLM v1's <c>Scheduler</c>, and nothing else: it runs no
/// model and produces no text. <see cref="Schedule"/> drops cancelled requests, admits waiting ones
/// by priority, then packs the decode token of every running sequence and chunks of pending prompts
/// under the token budget (chunked prefill), taking KV slots from the <see cref="KvCacheManager"/>
/// and preempting (by recompute) the lowest-priority, latest-arrived sequence when the pool runs dry.
/// <see cref="UpdateFromOutput"/> applies the sampled tokens and decides end-of-sequence and length
/// finishes; stop strings are the output processor's, which aborts the sequence. Besides EOS, any token
/// of <c>endOfGeneration</c> (the tokenizer's end-of-turn tokens: <c>&lt;|im_end|&gt;</c>, <c>&lt;|eot_id|&gt;</c>…)
/// ends a sequence, with <see cref="FinishReason.Stop"/>.
/// Used only from the engine's thread.
/// </summary>
internal sealed class Scheduler(EngineOptions options, KvCacheManager kv, int contextLength, int eosId, InferenceMetrics? metrics = null, ILogger? logger = null, IReadOnlySet<int>? endOfGeneration = null)
{
    // (priority, arrival): lower first. PriorityQueue is a d-ary heap: O(log n) insert and pop.
    private readonly PriorityQueue<Sequence, (int Priority, long Arrival)> _waiting = new();
    private readonly List<Sequence> _running = [];
    private readonly HashSet<Sequence> _inStep = [];
    private readonly List<Sequence> _order = [];
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private long _promptTokensComputed;
    private long _prefixHitTokens;
    private long _preemptions;
    private long _specDecodeDraftTokens;
    private long _specDecodeAcceptedTokens;

    public KvCacheManager Kv { get; } = kv;

    public int RunningCount => _running.Count;

    public int WaitingCount => _waiting.Count;

    public long PromptTokensComputed => Interlocked.Read(ref _promptTokensComputed);

    public long PrefixHitTokens => Interlocked.Read(ref _prefixHitTokens);

    public long Preemptions => Interlocked.Read(ref _preemptions);

    /// <summary>Draft tokens proposed and verified (vLLM's <c>spec_decode num_draft_tokens</c>).</summary>
    public long SpecDecodeDraftTokens => Interlocked.Read(ref _specDecodeDraftTokens);

    /// <summary>Draft tokens the target model's sampler agreed with (vLLM's <c>spec_decode num_accepted_tokens</c>).</summary>
    public long SpecDecodeAcceptedTokens => Interlocked.Read(ref _specDecodeAcceptedTokens);

    /// <summary>Queues a new (or preempted) sequence for admission.</summary>
    public void AddRequest(Sequence s)
    {
        s.Status = SequenceStatus.Waiting;
        _waiting.Enqueue(s, (s.Request.Priority, s.ArrivalOrder));
    }

    /// <summary>Decides the next step. The result is empty when nothing is running or nothing fits.</summary>
    public SchedulerOutput Schedule()
    {
        var output = new SchedulerOutput();
        RetireCancelled(output);
        Admit();
        _inStep.Clear();
        var budget = options.MaxBatchedTokens;
        // Decodes first (they are latency-bound and cheap), then prompt chunks, each in priority order.
        _order.Clear();
        _order.AddRange(_running);
        _order.Sort(static (a, b) => (a.Pending > 1, a.Request.Priority, a.ArrivalOrder).CompareTo((b.Pending > 1, b.Request.Priority, b.ArrivalOrder)));
        foreach (var s in _order)
        {
            if (budget == 0)
            {
                break;
            }

            if (s.Status != SequenceStatus.Running)
            {
                continue; // preempted while making room for an earlier one
            }

            var add = Math.Min(s.Pending, budget);
            var drafts = s.Pending == 1 ? Propose(s, budget - add) : [];
            if (!EnsureSlots(s, s.Computed + add + drafts.Length, output))
            {
                continue;
            }

            _inStep.Add(s);
            output.Scheduled.Add(new ScheduledSequence(s, s.Computed, add, s.Computed + add == s.Tokens.Count, drafts));
            output.TotalTokens += add + drafts.Length;
            output.DraftTokens += drafts.Length;
            budget -= add + drafts.Length;
        }

        return output;
    }

    /// <summary>
    /// Applies a step's results: advances each scheduled sequence's computed tokens, registers the
    /// blocks they filled, appends the sampled tokens and finishes sequences at end-of-sequence, at
    /// <c>max_tokens</c> or at the context length. Returns the events for the output processor.
    /// </summary>
    public List<EngineCoreOutput> UpdateFromOutput(SchedulerOutput scheduled, ModelRunnerOutput result)
    {
        foreach (var (s, start, count, _, drafts) in scheduled.Scheduled)
        {
            if (start < s.PromptLength)
            {
                Interlocked.Add(ref _promptTokensComputed, Math.Min(count, s.PromptLength - start));
            }

            // Only the scheduled tokens count as computed here; each accepted draft adds its
            // position below. A rejected draft's slot keeps stale keys and values, never registered
            // in the prefix cache (only blocks below Computed are) and overwritten when recomputed.
            s.Computed = start + count;
            Kv.CacheFullBlocks(s);
            if (drafts.Length > 0)
            {
                Interlocked.Add(ref _specDecodeDraftTokens, drafts.Length);
                metrics?.SpecDecodeDrafts.Add(1);
                metrics?.SpecDecodeDraftTokens.Add(drafts.Length);
            }
        }

        var outputs = new List<EngineCoreOutput>(result.Sampled.Count);
        foreach (var (s, token, logprobs, acceptedDraft) in result.Sampled)
        {
            if (acceptedDraft)
            {
                Interlocked.Increment(ref _specDecodeAcceptedTokens);
                metrics?.SpecDecodeAcceptedTokens.Add(1);
            }

            if (s.Status == SequenceStatus.Finished)
            {
                continue; // an earlier token of this step's accepted run ended it; the rest is dropped
            }

            var processor = s.Request.LogitsProcessor;
            processor?.Accept(token);
            if (processor?.Failure is { } failure)
            {
                Finish(s);
                outputs.Add(new EngineCoreOutput(s.Output!, -1, false, null, null, s.CachedPromptTokens, result.Timestamp, failure));
                continue;
            }

            if ((token == eosId || endOfGeneration?.Contains(token) == true) && !s.Request.IgnoreEos)
            {
                Finish(s);
                var reason = token == eosId ? FinishReason.Eos : FinishReason.Stop;
                outputs.Add(new EngineCoreOutput(s.Output!, -1, true, null, reason, s.CachedPromptTokens, result.Timestamp));
                continue;
            }

            s.Tokens.Add(token);
            if (acceptedDraft)
            {
                s.Computed++; // its keys and values were computed with exactly these tokens before it
                Kv.CacheFullBlocks(s);
            }

            FinishReason? finish = null;
            if (processor?.IsComplete == true)
            {
                finish = FinishReason.Stop; // a constrained output is complete and nothing may follow
                Finish(s);
            }
            else if (s.OutputLength >= s.Request.MaxTokens || s.Tokens.Count >= contextLength)
            {
                finish = FinishReason.Length;
                Finish(s);
            }

            outputs.Add(new EngineCoreOutput(s.Output!, token, true, logprobs, finish, s.CachedPromptTokens, result.Timestamp));
        }

        return outputs;
    }

    /// <summary>Removes every running sequence, freeing its blocks (engine failure or shutdown).</summary>
    public List<Sequence> RemoveRunning()
    {
        var removed = _running.ToList();
        foreach (var s in removed)
        {
            Finish(s);
        }

        return removed;
    }

    /// <summary>Removes every waiting sequence (shutdown).</summary>
    public List<Sequence> RemoveWaiting()
    {
        var removed = _waiting.UnorderedItems.Select(x => x.Element).ToList();
        _waiting.Clear();
        foreach (var s in removed)
        {
            s.Status = SequenceStatus.Finished;
        }

        return removed;
    }

    private void RetireCancelled(SchedulerOutput output)
    {
        foreach (var s in _running.Where(s => s.Aborted || s.Cancellation.IsCancellationRequested).ToArray())
        {
            Finish(s);
            if (!s.Aborted)
            {
                output.Finished.Add(Cancelled(s));
            }
        }

        if (_waiting.Count == 0)
        {
            return;
        }

        // A cancelled waiting request leaves now (its caller sees the end at once, the queue frees a place).
        List<Sequence>? gone = null;
        foreach (var (s, _) in _waiting.UnorderedItems)
        {
            if (s.Aborted || s.Cancellation.IsCancellationRequested)
            {
                (gone ??= []).Add(s);
            }
        }

        foreach (var s in gone ?? [])
        {
            _waiting.Remove(s, out _, out _);
            s.Status = SequenceStatus.Finished;
            if (!s.Aborted)
            {
                output.Finished.Add(Cancelled(s));
            }
        }
    }

    private static EngineCoreOutput Cancelled(Sequence s) =>
        new(s.Output!, -1, false, null, FinishReason.Cancelled, s.CachedPromptTokens, Stopwatch.GetTimestamp());

    private void Admit()
    {
        while (_running.Count < options.MaxRunningSequences && _waiting.TryPeek(out var s, out _))
        {
            // Admit only what can get its next chunk's blocks; keep one block of headroom per runner.
            if (Kv.BlocksFor(Math.Min(s.Tokens.Count + 1, options.MaxBatchedTokens)) + _running.Count > Kv.AvailableBlocks)
            {
                break;
            }

            _waiting.Dequeue();
            s.Computed = Kv.AllocateComputedBlocks(s);
            s.Status = SequenceStatus.Running;
            _running.Add(s);
            if (!s.EverAdmitted)
            {
                s.EverAdmitted = true;
                s.CachedPromptTokens = Math.Min(s.Computed, s.PromptLength);
                Interlocked.Add(ref _prefixHitTokens, s.CachedPromptTokens);
                metrics?.PrefixCacheQueries.Add(s.PromptLength);
                metrics?.PrefixCacheHits.Add(s.CachedPromptTokens);
                metrics?.PromptTokens.Add(s.PromptLength);
            }
        }
    }

    /// <summary>
    /// Draft tokens for a decoding sequence (speculative decoding by prompt lookup), at most its
    /// request's or the engine's <c>num_speculative_tokens</c>, the step's remaining
    /// <paramref name="room"/>, what <c>max_tokens</c> and the context length leave after the token
    /// the step samples anyway, and what the free blocks hold without preempting anyone. None for
    /// a request with a logits processor: its mask at a draft's position would depend on accepting
    /// the drafts before it, and processors are told of tokens only once they are chosen.
    /// </summary>
    private int[] Propose(Sequence s, int room)
    {
        var k = s.Request.NumSpeculativeTokens ?? options.NumSpeculativeTokens;
        if (k <= 0 || s.Request.LogitsProcessor is not null)
        {
            return [];
        }

        k = Math.Min(Math.Min(k, EngineOptions.MaxSpeculativeTokens), room);
        k = Math.Min(k, Math.Min(s.Request.MaxTokens - s.OutputLength - 1, contextLength - s.Tokens.Count - 1));
        // Drafts never take the block another running sequence's next token may need.
        var free = (Kv.AvailableBlocks - _running.Count + s.Kv.Blocks.Count) * Kv.BlockSize - (s.Computed + 1);
        k = Math.Min(k, free);
        if (k <= 0)
        {
            return [];
        }

        Span<int> drafts = stackalloc int[k];
        var n = NgramProposer.Propose(CollectionsMarshal.AsSpan(s.Tokens), options.PromptLookupMin, options.PromptLookupMax, drafts);
        return n == 0 ? [] : drafts[..n].ToArray();
    }

    /// <summary>Gives <paramref name="s"/> slots up to <paramref name="tokens"/> positions, preempting others if needed.</summary>
    private bool EnsureSlots(Sequence s, int tokens, SchedulerOutput output)
    {
        while (!Kv.TryAllocateSlots(s, tokens))
        {
            // Out of blocks: preempt the lowest-priority, latest-arrived other sequence not yet in this step.
            Sequence? victim = null;
            foreach (var r in _running)
            {
                if (r != s && !_inStep.Contains(r)
                    && (victim is null || (r.Request.Priority, r.ArrivalOrder).CompareTo((victim.Request.Priority, victim.ArrivalOrder)) > 0))
                {
                    victim = r;
                }
            }

            Preempt(victim ?? s, output);
            if (victim is null)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Recompute preemption: frees the sequence's blocks; it waits and later recomputes its tokens.</summary>
    private void Preempt(Sequence s, SchedulerOutput output)
    {
        Kv.Free(s);
        s.Computed = 0;
        _running.Remove(s);
        AddRequest(s);
        output.Preempted.Add(s);
        Interlocked.Increment(ref _preemptions);
        metrics?.Preemptions.Add(1);
        _logger.LogDebug("Preempted request {RequestId} at {Tokens} tokens", s.Request.RequestId, s.Tokens.Count);
    }

    private void Finish(Sequence s)
    {
        Kv.Free(s);
        _running.Remove(s);
        s.Status = SequenceStatus.Finished;
    }
}
