using System.Globalization;
using Grpc.Core;
using Mesh.Guard.V1;

namespace Mesh.Demo;

/// <summary>
/// The judge column of <c>eval --judge</c>: asks Guard's <c>QualityService/Evaluate</c>, through the
/// gateway (so the key's tenant and its policy apply), to grade one (question, answer, sources) 1..5
/// with the judge model Guard is configured with (<c>Guard:Judge:Endpoint</c>, <c>Guard:Judge:Model</c>).
/// The sources are the ones the assistant retrieved for that answer, with the text its prompt showed.
/// </summary>
/// <remarks>
/// A blocked or empty answer is not graded (Evaluate needs an answer). Statuses that would fail every
/// question the same way end the run with Guard's message: FAILED_PRECONDITION (no judge configured,
/// or the judge does not serve its model), NOT_FOUND (no such <c>--judge-policy</c>), UNAUTHENTICATED,
/// PERMISSION_DENIED. Any other failure (DEADLINE_EXCEEDED on a slow judge, INVALID_ARGUMENT for a
/// prompt longer than the judge's context, UNAVAILABLE…) is that question's result, shown in the report.
/// </remarks>
internal sealed class EvalJudge(QualityService.QualityServiceClient client, Metadata key, string model, string policy)
{
    /// <summary>Longest the command waits for one grade; the gateway's guard route may cap it lower (its Mesh.Deadline).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private static readonly StatusCode[] EndTheRun =
        [StatusCode.FailedPrecondition, StatusCode.NotFound, StatusCode.Unauthenticated, StatusCode.PermissionDenied, StatusCode.Cancelled];

    /// <summary>Grades <paramref name="result"/>'s answer; <paramref name="requestId"/> goes to Guard and the judge's logs.</summary>
    /// <exception cref="RpcException">For the statuses that end the run (see the remarks).</exception>
    public async Task<Grade> GradeAsync(EvalReport.Result result, string requestId)
    {
        if (result.Blocked || string.IsNullOrWhiteSpace(result.Answer))
        {
            return new Grade(null, "", JudgeAction.None, 0, "", Skipped: result.Blocked ? "blocked" : "empty answer");
        }

        var request = new EvaluateRequest
        {
            Model = model,
            Question = result.Item.Question,
            Answer = result.Answer,
            Policy = policy,
            RequestId = requestId,
        };
        request.Sources.AddRange(result.Sources);
        try
        {
            var response = await client.EvaluateAsync(request, key, DateTime.UtcNow + Timeout);
            return new Grade(response.Score, response.Reason, response.Action, response.JudgeSeconds, response.JudgeModel);
        }
        catch (RpcException e) when (!EndTheRun.Contains(e.StatusCode))
        {
            return new Grade(null, "", JudgeAction.None, 0, "", Error: $"{e.StatusCode}: {e.Status.Detail}");
        }
    }

    /// <summary>
    /// One answer's grade: <paramref name="Score"/> 1..5 with the judge's <paramref name="Reason"/>, the
    /// policy's <paramref name="Action"/> (NONE when its minimum was met or it sets none), the judge's
    /// time in seconds and model; or, with no score, why: <paramref name="Skipped"/> or <paramref name="Error"/>.
    /// </summary>
    public sealed record Grade(int? Score, string Reason, JudgeAction Action, double Seconds, string JudgeModel, string? Skipped = null, string? Error = null)
    {
        /// <summary>The score, "skipped" or "error", for a table cell or a progress line.</summary>
        public string Show() => Score is { } s ? s.ToString(CultureInfo.InvariantCulture) + (Action == JudgeAction.None ? "" : $" ({Action.ToString().ToLowerInvariant()})")
            : Error is not null ? "error" : "skipped";
    }
}
