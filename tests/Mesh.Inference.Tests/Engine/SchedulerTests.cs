using Mesh.Inference.Engine;
using Mesh.Inference.Sampling;

namespace Mesh.Inference.Tests.Engine;

/// <summary>
/// The scheduler without a model, as vLLM's tests/v1/core: what each step schedules, admission by
/// priority, chunked prefill, preemption by recompute and the finishes it decides. Steps are
/// simulated by feeding sampled tokens back through <see cref="Scheduler.UpdateFromOutput"/>.
/// </summary>
public sealed class SchedulerTests
{
    private const int Eos = 2;
    private const int BlockSize = 4;
    private long _arrivals;

    [Fact]
    public void WaitingRequestsAreAdmittedByPriorityThenArrival()
    {
        var scheduler = Create(new EngineOptions { MaxRunningSequences = 1 }, blocks: 32);
        var low = Add(scheduler, Prompt(5), priority: 5);
        var first = Add(scheduler, Prompt(5), priority: 0);
        var second = Add(scheduler, Prompt(5), priority: 0);

        var order = new List<Sequence>();
        for (var i = 0; i < 3; i++)
        {
            var step = scheduler.Schedule();
            var only = Assert.Single(step.Scheduled);
            order.Add(only.Sequence);
            Step(scheduler, step, Eos); // each finishes at once, making room for the next
        }

        Assert.Equal([first, second, low], order);
        Assert.Equal(0, scheduler.Kv.UsedBlocks);
    }

    [Fact]
    public void LongPromptsAreChunkedUnderTheTokenBudgetAndDecodesGoFirst()
    {
        var scheduler = Create(new EngineOptions { MaxBatchedTokens = 16 }, blocks: 64);
        var a = Add(scheduler, Prompt(10));
        var b = Add(scheduler, Prompt(30, offset: 100));

        var step1 = scheduler.Schedule();
        Assert.Equal([new(a, 0, 10, true), new(b, 0, 6, false)], step1.Scheduled);
        Assert.Equal(16, step1.TotalTokens);
        Step(scheduler, step1, 100);

        var step2 = scheduler.Schedule();
        Assert.Equal([new(a, 10, 1, true), new(b, 6, 15, false)], step2.Scheduled);
        Step(scheduler, step2, 101);

        var step3 = scheduler.Schedule();
        Assert.Equal([new(a, 11, 1, true), new(b, 21, 9, true)], step3.Scheduled);
        Assert.Equal(8, b.Kv.Blocks.Count); // 30 positions need 8 blocks of 4, taken as positions need them
    }

    [Fact]
    public void WhenBlocksRunOutTheLatestSequenceIsPreemptedAndLaterRecomputed()
    {
        // Without prefix caching, so that the resumed sequence visibly recomputes everything.
        var scheduler = Create(new EngineOptions { MaxBatchedTokens = 64, EnablePrefixCaching = false }, blocks: 6);
        var a = Add(scheduler, Prompt(8));
        var b = Add(scheduler, Prompt(8, offset: 100));

        // 8-token prompts and 4 decode steps: 12 positions = 3 blocks each, the whole pool.
        for (var i = 0; i < 5; i++)
        {
            var step = scheduler.Schedule();
            Assert.Empty(step.Preempted);
            Step(scheduler, step, 100 + i);
        }

        Assert.Equal(13, a.Tokens.Count);
        var tight = scheduler.Schedule(); // position 12 needs a fourth block: b, the later arrival, gives its blocks up
        Assert.Equal([b], tight.Preempted);
        Assert.Equal([new(a, 12, 1, true)], tight.Scheduled);
        Assert.Equal(SequenceStatus.Waiting, b.Status);
        Assert.Equal(0, b.Computed);
        Assert.Empty(b.Kv.Blocks);
        Assert.Equal(1, scheduler.Preemptions);
        Step(scheduler, tight, Eos);

        // a finished: b comes back and recomputes its prompt and output so far, then samples.
        var resumed = scheduler.Schedule();
        Assert.Equal([new(b, 0, 13, true)], resumed.Scheduled);
        Step(scheduler, resumed, Eos);
        Assert.Equal(0, scheduler.Kv.UsedBlocks);
    }

    [Fact]
    public void CancelledRequestsLeaveAtTheNextStepWithTheirBlocks()
    {
        var scheduler = Create(new EngineOptions { MaxRunningSequences = 1 }, blocks: 32);
        using var runningCancel = new CancellationTokenSource();
        using var waitingCancel = new CancellationTokenSource();
        var running = Add(scheduler, Prompt(9), cancellation: runningCancel.Token);
        var waiting = Add(scheduler, Prompt(9), cancellation: waitingCancel.Token);
        Step(scheduler, scheduler.Schedule(), 100);
        Assert.True(scheduler.Kv.UsedBlocks > 0);

        runningCancel.Cancel();
        waitingCancel.Cancel();
        var step = scheduler.Schedule();

        Assert.Empty(step.Scheduled);
        Assert.Equal([FinishReason.Cancelled, FinishReason.Cancelled], step.Finished.Select(o => o.Finish));
        Assert.Equal(SequenceStatus.Finished, running.Status);
        Assert.Equal(SequenceStatus.Finished, waiting.Status);
        Assert.Equal(0, scheduler.WaitingCount);
        Assert.Equal(0, scheduler.Kv.UsedBlocks);
    }

    [Fact]
    public void EndOfSequenceAndMaxTokensFinishAndFreeTheBlocks()
    {
        var scheduler = Create(new EngineOptions(), blocks: 32);
        var eos = Add(scheduler, Prompt(6));
        var length = Add(scheduler, Prompt(6), maxTokens: 2);
        var ignoring = Add(scheduler, Prompt(6), ignoreEos: true);

        var first = Step(scheduler, scheduler.Schedule(), s => s == length ? 100 : Eos);
        Assert.Equal((-1, FinishReason.Eos), (first[0].Token, first[0].Finish!.Value)); // the end token is not output
        Assert.Equal((100, (FinishReason?)null), (first[1].Token, first[1].Finish));
        Assert.Equal((Eos, (FinishReason?)null), (first[2].Token, first[2].Finish)); // ignore_eos: an ordinary token
        Assert.Equal(SequenceStatus.Finished, eos.Status);

        var second = Step(scheduler, scheduler.Schedule(), 100);
        Assert.Equal(FinishReason.Length, second[0].Finish);
        Assert.Equal(2, length.OutputLength);
        Assert.Equal(SequenceStatus.Running, ignoring.Status);
        Assert.Equal(ignoring.Kv.Blocks.Count, scheduler.Kv.UsedBlocks);
    }

    [Fact]
    public void AnAbortedSequenceIsDroppedWithoutAnEvent()
    {
        var scheduler = Create(new EngineOptions(), blocks: 32);
        var s = Add(scheduler, Prompt(6));
        Step(scheduler, scheduler.Schedule(), 100);

        s.Abort(); // the output processor matched a stop string
        var step = scheduler.Schedule();

        Assert.Empty(step.Scheduled);
        Assert.Empty(step.Finished);
        Assert.Equal(0, scheduler.RunningCount);
        Assert.Equal(0, scheduler.Kv.UsedBlocks);
    }

    private static Scheduler Create(EngineOptions options, int blocks) =>
        new(options, new KvCacheManager(new KvBlockAllocator(blocks, BlockSize, options.EnablePrefixCaching)), contextLength: 256, eosId: Eos);

    private static int[] Prompt(int length, int offset = 10) => [.. Enumerable.Range(offset, length)];

    private Sequence Add(Scheduler scheduler, int[] prompt, int priority = 0, int maxTokens = 50, bool ignoreEos = false, CancellationToken cancellation = default)
    {
        var request = new GenerationRequest(prompt, maxTokens, SamplingParameters.Greedy, [], ignoreEos, Priority: priority);
        var s = new Sequence(request, _arrivals++, sampler: null, output: null, cancellation);
        scheduler.AddRequest(s);
        return s;
    }

    /// <summary>Plays the model runner: every sequence that samples this step gets <paramref name="token"/>.</summary>
    private static List<EngineCoreOutput> Step(Scheduler scheduler, SchedulerOutput step, int token) => Step(scheduler, step, _ => token);

    private static List<EngineCoreOutput> Step(Scheduler scheduler, SchedulerOutput step, Func<Sequence, int> token)
    {
        var result = new ModelRunnerOutput();
        foreach (var x in step.Scheduled.Where(x => x.Sample))
        {
            result.Sampled.Add(new SampledToken(x.Sequence, token(x.Sequence), null));
        }

        return scheduler.UpdateFromOutput(step, result);
    }
}
