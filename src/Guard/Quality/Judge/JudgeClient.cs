using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Guard.Policies;
using Mesh.Guard.V1;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults.Errors;
using Mesh.ServiceDefaults.Tenancy;
using Microsoft.Extensions.Options;

namespace Mesh.Guard.Quality.Judge;

/// <summary>
/// Asks the configured judge model (an Inference server's <c>Complete</c>) to grade one answer, its
/// output constrained to <see cref="JudgePrompt.Schema"/> at temperature 0, and parses the grade.
/// The call's deadline is the caller's, or <see cref="JudgeOptions.TimeoutSeconds"/> from now when
/// that comes first. Inference's refusals become Guard refusals that say where to look (see
/// quality.proto's Evaluate). One HTTP/2 channel to the judge, opened at first use.
/// The judge call acts for the caller's tenant: <c>x-mesh-tenant</c>, signed for Inference's
/// <c>Complete</c> with <c>Mesh:Tenancy:SigningKey</c> when one is configured, as the gateway signs
/// (a signed mesh's Inference refuses an unsigned call with UNAUTHENTICATED).
/// </summary>
public sealed class JudgeClient(IOptions<GuardOptions> options, IOptions<TenancyOptions> tenancy, TimeProvider time, JudgeTelemetry telemetry) : IDisposable
{
    /// <summary>The gRPC path the judge is called on; a tenant signature is bound to it.</summary>
    public static readonly string CompletePath = $"/{InferenceService.Descriptor.FullName}/Complete";

    private readonly byte[]? _signingKey = string.IsNullOrEmpty(tenancy.Value.SigningKey) ? null : System.Text.Encoding.UTF8.GetBytes(tenancy.Value.SigningKey);

    private readonly Lazy<(GrpcChannel Channel, InferenceService.InferenceServiceClient Client)> _connection = new(() =>
    {
        var channel = GrpcChannel.ForAddress(options.Value.Judge.Endpoint);
        return (channel, new InferenceService.InferenceServiceClient(channel));
    });

    /// <summary>The judge settings in force.</summary>
    public JudgeOptions Options => options.Value.Judge;

    /// <summary>Grades <paramref name="request"/>'s answer against <paramref name="rule"/>'s rubric.</summary>
    /// <param name="request">A validated request.</param>
    /// <param name="rule">The rubric.</param>
    /// <param name="tenant">The caller's (verified) tenant, which the judge call acts for.</param>
    /// <param name="callerDeadline">The caller's deadline (UTC; <see cref="DateTime.MaxValue"/> for none).</param>
    /// <param name="cancellationToken">The caller's cancellation.</param>
    /// <returns>The grade and the seconds the judge took.</returns>
    /// <exception cref="ServiceException">No judge is configured (FAILED_PRECONDITION) or the judge call failed (see quality.proto).</exception>
    public async Task<(JudgeVerdict Verdict, TimeSpan Elapsed)> GradeAsync(
        EvaluateRequest request, JudgeRule rule, string tenant, DateTime callerDeadline, CancellationToken cancellationToken)
    {
        var judge = options.Value.Judge;
        if (!judge.Configured)
        {
            throw new ServiceException(StatusCode.FailedPrecondition,
                "no judge model is configured: set Guard:Judge:Endpoint (an Inference server's gRPC address) and Guard:Judge:Model (a model it serves)");
        }

        var generate = new GenerateRequest
        {
            Model = judge.Model,
            Prompt = JudgePrompt.Build(request, rule),
            MaxTokens = judge.MaxTokens,
            Sampling = new SamplingParams { Temperature = 0 },
            RequestId = request.RequestId,
            ResponseFormat = new ResponseFormat { JsonSchema = new JsonSchemaFormat { Schema = JudgePrompt.Schema(judge.MaxReasonChars) } },
        };
        var timeout = DateTime.UtcNow.AddSeconds(judge.TimeoutSeconds);
        var ownTimeout = timeout < callerDeadline;
        var started = Stopwatch.GetTimestamp();
        CompleteResponse response;
        try
        {
            response = await _connection.Value.Client.CompleteAsync(
                generate, TenantHeaders(tenant), deadline: ownTimeout ? timeout : callerDeadline, cancellationToken: cancellationToken);
        }
        catch (RpcException e)
        {
            telemetry.Called(judge.Model, Stopwatch.GetElapsedTime(started), e.StatusCode.ToString());
            throw Map(e, judge, ownTimeout);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        telemetry.Called(judge.Model, elapsed, null);
        if (response.FinishReason == FinishReason.Length)
        {
            throw new ServiceException(StatusCode.Internal,
                $"the judge's output was cut at Guard:Judge:MaxTokens ({judge.MaxTokens}) before its JSON closed; raise MaxTokens or lower Guard:Judge:MaxReasonChars ({judge.MaxReasonChars})");
        }

        try
        {
            return (JudgeVerdict.Parse(response.Text, judge.MaxReasonChars), elapsed);
        }
        catch (FormatException e)
        {
            throw new ServiceException(StatusCode.Internal, $"the judge's output is not the schema's {{score, reason}} object: {e.Message}");
        }
    }

    /// <summary>Closes the channel to the judge.</summary>
    public void Dispose()
    {
        if (_connection.IsValueCreated)
        {
            _connection.Value.Channel.Dispose();
        }
    }

    private Metadata TenantHeaders(string tenant)
    {
        var headers = new Metadata { { TenantSignature.TenantHeader, tenant } };
        if (_signingKey is not null)
        {
            headers.Add(TenantSignature.SignatureHeader, TenantSignature.Sign(_signingKey, tenant, CompletePath, time.GetUtcNow()));
        }

        return headers;
    }

    private static Metadata RetryAfter(RpcException e)
    {
        var trailers = new Metadata();
        if (e.Trailers.GetValue(ServiceException.RetryAfterMsTrailer) is { } ms)
        {
            trailers.Add(ServiceException.RetryAfterMsTrailer, ms);
        }

        return trailers;
    }

    private static ServiceException Map(RpcException e, JudgeOptions judge, bool ownTimeout)
    {
        var at = $"the judge ({judge.Model} at {judge.Endpoint})";
        return e.StatusCode switch
        {
            StatusCode.Unavailable => new(StatusCode.Unavailable, $"{at} is unreachable: {e.Status.Detail}; check Guard:Judge:Endpoint and that Inference runs there"),
            StatusCode.DeadlineExceeded => new(StatusCode.DeadlineExceeded, ownTimeout
                ? $"{at} did not answer within Guard:Judge:TimeoutSeconds ({judge.TimeoutSeconds} s)"
                : $"{at} did not answer before the caller's deadline"),
            StatusCode.Cancelled => new(StatusCode.Cancelled, "the caller cancelled the evaluation"),
            StatusCode.NotFound => new(StatusCode.FailedPrecondition, $"{at}: {e.Status.Detail}; set Guard:Judge:Model to a model that server lists"),
            StatusCode.InvalidArgument => new(StatusCode.InvalidArgument, $"{at} refused the request: {e.Status.Detail} (question, answer and sources may not fit its context; shorten them)"),
            StatusCode.ResourceExhausted => new(StatusCode.ResourceExhausted, $"{at} is overloaded: {e.Status.Detail}", RetryAfter(e)),
            _ => new(StatusCode.Internal, $"{at} failed with {e.StatusCode}: {e.Status.Detail}"),
        };
    }
}
