using Mesh.Inference.Engine;
using Mesh.Inference.Sampling;

namespace Mesh.Inference.Tests.Engine;

/// <summary>
/// Speculative decoding in the scheduler, without a model: which drafts a step carries, how an
/// accepted run advances the computed tokens and the prefix cache, and how a finish inside a run
/// drops the rest of it. The model runner is played by feeding tokens to <see cref="Scheduler.UpdateFromOutput"/>.
/// </summary>
public sealed class SpeculativeSchedulingTests
{
    private const int Eos = 2;
    private const int BlockSize = 4;
    private long _arrivals;

    [Fact]
    public void ADecodeCarriesTheLookupDraftAndAnAcceptedRunAdvancesTheCache()
    {
        var scheduler = Create(new EngineOptions { NumSpeculativeTokens = 4 });
        var s = Add(scheduler, [10, 11, 12, 13, 10, 11]);
        var prefill = scheduler.Schedule();
        Assert.Empty(Assert.Single(prefill.Scheduled).Drafts); // a prompt chunk is not speculated on
        Update(scheduler, prefill, (12, false));

        var step = scheduler.Schedule();
        var only = Assert.Single(step.Scheduled);
        Assert.Equal((6, 1, true), (only.Start, only.Count, only.Sample));
        Assert.Equal([13, 10, 11, 12], only.Drafts); // [10, 11, 12] ends the tokens and began them
        Assert.Equal(5, step.TotalTokens);
        Assert.Equal(4, step.DraftTokens);
        Assert.Equal(3, s.Kv.Blocks.Count); // slots for the drafts' 11 positions

        // Two drafts accepted, the third rejected: the sampler's token there (99) ends the run.
        var events = Update(scheduler, step, (13, true), (10, true), (99, false));
        Assert.Equal([13, 10, 99], events.Select(e => e.Token));
        Assert.Equal([10, 11, 12, 13, 10, 11, 12, 13, 10, 99], s.Tokens);
        Assert.Equal(9, s.Computed); // the accepted drafts' keys and values are kept; 99 is next to compute
        Assert.Equal(2, s.Kv.Hashes.Count); // both blocks the accepted run filled are in the prefix cache
        Assert.Equal((4, 2), (scheduler.SpecDecodeDraftTokens, scheduler.SpecDecodeAcceptedTokens));

        var next = Assert.Single(scheduler.Schedule().Scheduled);
        Assert.Equal((9, 1), (next.Start, next.Count));
        Assert.Empty(next.Drafts); // 99 never occurred before
    }

    [Fact]
    public void AnEndOfSequenceInsideAnAcceptedRunFinishesAndDropsTheRest()
    {
        var scheduler = Create(new EngineOptions { NumSpeculativeTokens = 4 });
        var s = Add(scheduler, [10, 11, Eos, 10]);
        Update(scheduler, scheduler.Schedule(), (11, false));

        var step = scheduler.Schedule();
        Assert.Equal([Eos, 10, 11], Assert.Single(step.Scheduled).Drafts);
        var events = Update(scheduler, step, (Eos, true), (10, true), (11, true), (12, false));

        var end = Assert.Single(events);
        Assert.Equal((-1, FinishReason.Eos), (end.Token, end.Finish));
        Assert.Equal(SequenceStatus.Finished, s.Status);
        Assert.Equal(0, scheduler.Kv.UsedBlocks);
        Assert.Empty(scheduler.Schedule().Scheduled);
    }

    [Fact]
    public void DraftsStopWhereMaxTokensAndTheContextEnd()
    {
        var byMaxTokens = Create(new EngineOptions { NumSpeculativeTokens = 4 });
        var s = Add(byMaxTokens, [10, 11, 12, 13, 10, 11], maxTokens: 3);
        Update(byMaxTokens, byMaxTokens.Schedule(), (12, false));
        var step = byMaxTokens.Schedule();
        Assert.Equal([13], Assert.Single(step.Scheduled).Drafts); // 1 output so far, 1 draft, 1 sampled = 3
        var events = Update(byMaxTokens, step, (13, true), (50, false));
        Assert.Equal([(13, (FinishReason?)null), (50, FinishReason.Length)], events.Select(e => (e.Token, e.Finish)));
        Assert.Equal(3, s.OutputLength);

        var byContext = Create(new EngineOptions { NumSpeculativeTokens = 4 }, contextLength: 9);
        Add(byContext, [10, 11, 12, 13, 10, 11]);
        Update(byContext, byContext.Schedule(), (12, false));
        Assert.Equal([13], Assert.Single(byContext.Schedule().Scheduled).Drafts); // 7 tokens, 1 draft, 1 sampled = 9
    }

    [Fact]
    public void ARequestTurnsSpeculationOnOrOffAndLogitsProcessorsAreNeverSpeculatedOn()
    {
        int[] prompt = [10, 11, 12, 13, 10, 11];
        var off = Create(new EngineOptions());
        Add(off, prompt, speculative: 3);
        var offDefault = Add(off, prompt, speculative: null);
        Update(off, off.Schedule(), (12, false), (12, false));
        var step = off.Schedule();
        Assert.Equal([3, 0], step.Scheduled.Select(x => x.Drafts.Length));
        Assert.Equal(offDefault, step.Scheduled[1].Sequence);

        var on = Create(new EngineOptions { NumSpeculativeTokens = 4 });
        Add(on, prompt, speculative: 0);
        Add(on, prompt, processor: new Passthrough());
        Update(on, on.Schedule(), (12, false), (12, false));
        Assert.All(on.Schedule().Scheduled, x => Assert.Empty(x.Drafts));
    }

    private static Scheduler Create(EngineOptions options, int blocks = 32, int contextLength = 256) =>
        new(options, new KvCacheManager(new KvBlockAllocator(blocks, BlockSize, options.EnablePrefixCaching)), contextLength, eosId: Eos);

    private Sequence Add(Scheduler scheduler, int[] prompt, int maxTokens = 50, int? speculative = null, ILogitsProcessor? processor = null)
    {
        var request = new GenerationRequest(prompt, maxTokens, SamplingParameters.Greedy, [], LogitsProcessor: processor, NumSpeculativeTokens: speculative);
        var s = new Sequence(request, _arrivals++, sampler: null, output: null, CancellationToken.None);
        scheduler.AddRequest(s);
        return s;
    }

    /// <summary>
    /// Plays the model runner: the given tokens go, in order, to the sampling sequences of the step:
    /// a sequence with drafts takes its accepted drafts and then one more token.
    /// </summary>
    private static List<EngineCoreOutput> Update(Scheduler scheduler, SchedulerOutput step, params (int Token, bool AcceptedDraft)[] tokens)
    {
        var result = new ModelRunnerOutput();
        var next = 0;
        foreach (var x in step.Scheduled.Where(x => x.Sample))
        {
            do
            {
                result.Sampled.Add(new SampledToken(x.Sequence, tokens[next].Token, null, tokens[next].AcceptedDraft));
            }
            while (tokens[next++].AcceptedDraft);
        }

        Assert.Equal(tokens.Length, next);
        return scheduler.UpdateFromOutput(step, result);
    }

    private sealed class Passthrough : ILogitsProcessor
    {
        public void Process(Span<float> logits, ReadOnlySpan<int> outputTokens)
        {
        }

        public void Accept(int token)
        {
        }
    }
}
