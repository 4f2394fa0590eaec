using Grpc.Core;
using Mesh.Demo;
using Mesh.Gateway.Tests.Infrastructure;
using Mesh.Guard.V1;

namespace Mesh.Gateway.Tests.Assistant;

/// <summary>
/// <c>eval --judge</c> where it cannot grade: a Guard without a judge (the shared mesh's, no
/// <c>Guard:Judge</c> settings) ends the run with Guard's message instead of a report of errors; blocked
/// and empty answers are not sent to the judge.
/// </summary>
[Collection(MeshCollection.Name)]
public sealed class EvalJudgeTests(MeshFixture mesh)
{
    private static EvalReport.Result Answered(string answer, bool blocked = false) =>
        new(new EvalCommand.Item("How long does shipping take?", null, []), [], false, answer, blocked, null, null, 1, null)
        {
            Sources = [new AnswerSource { Id = "5", Text = "Standard shipping takes 3 to 5 business days." }],
        };

    [Fact]
    public async Task Without_a_judge_configured_the_run_ends_with_guards_failed_precondition()
    {
        var judge = new EvalJudge(new QualityService.QualityServiceClient(mesh.Channel), mesh.Admin.Metadata, "stories260K", "");

        var e = await Assert.ThrowsAsync<RpcException>(() => judge.GradeAsync(Answered("Three to five business days [1]."), "eval-1"));

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("Guard:Judge:Endpoint", e.Status.Detail, StringComparison.Ordinal); // says what to set

        // A grade is a generation: Evaluate has a route of its own (guard-judge), so the command's
        // deadline reaches Guard, not the guard route's 10 seconds.
        var sent = mesh.Guard.Calls.Last(c => c.Path == "/mesh.guard.v1.QualityService/Evaluate").Header("grpc-timeout");
        Assert.True(Mesh.Gateway.GrpcWire.GrpcTimeout.TryParse(sent, out var deadline), $"grpc-timeout '{sent}'");
        Assert.InRange(deadline, TimeSpan.FromSeconds(30), EvalJudge.Timeout);
    }

    [Fact]
    public async Task A_judge_policy_without_judge_is_refused_before_any_question_is_asked()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => EvalCommand.RunAsync(new Options(
            ["--gateway", mesh.Gateway.Address.ToString(), "--api-key", mesh.Admin.Secret, "--model", "stories260K", "--set", "unread.jsonl", "--judge-policy", "support"],
            EvalCommand.Flags)));
        Assert.Contains("pass --judge with it", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Blocked_and_empty_answers_are_skipped_without_asking_guard()
    {
        // The same Guard has no judge: a call would throw, so a grade back means no call was made.
        var judge = new EvalJudge(new QualityService.QualityServiceClient(mesh.Channel), mesh.Admin.Metadata, "stories260K", "");

        var blocked = await judge.GradeAsync(Answered("", blocked: true), "eval-1");
        var empty = await judge.GradeAsync(Answered("  "), "eval-2");

        Assert.Equal(("blocked", (int?)null, "skipped"), (blocked.Skipped, blocked.Score, blocked.Show()));
        Assert.Equal(("empty answer", (int?)null, "skipped"), (empty.Skipped, empty.Score, empty.Show()));
    }
}
