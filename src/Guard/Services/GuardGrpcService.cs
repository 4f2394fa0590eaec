using System.Diagnostics;
using Grpc.Core;
using Json.Schema;
using Mesh.Guard.Checking;
using Mesh.Guard.Policies;
using Mesh.Guard.Schema;
using Mesh.Guard.Telemetry;
using Mesh.Guard.V1;
using Mesh.ServiceDefaults.Errors;
using Mesh.ServiceDefaults.Tenancy;
using Microsoft.Extensions.Options;

namespace Mesh.Guard.Services;

/// <summary>The mesh.guard.v1.GuardService endpoint: validates requests, resolves the policy, evaluates.</summary>
public sealed class GuardGrpcService(
    PolicyStore policies,
    PolicyEvaluator evaluator,
    JsonSchemaValidator schemas,
    IOptions<GuardOptions> options,
    TenantResolver tenants,
    ILogger<GuardGrpcService> logger) : GuardService.GuardServiceBase
{

    /// <summary>Checks one text against a policy (see guard.proto: unknown policy NOT_FOUND, bad stage or oversized text INVALID_ARGUMENT).</summary>
    public override Task<CheckResponse> Check(CheckRequest request, ServerCallContext context)
    {
        using var activity = GuardTelemetry.ActivitySource.StartActivity("guard.check");
        var stage = ProtoMapping.FromProto(request.Stage);
        if (stage == Stages.None)
        {
            throw Invalid("stage must be STAGE_INPUT or STAGE_OUTPUT");
        }
        CheckLength(CodePoints.Count(request.Text));
        var set = policies.Current;
        var policy = ResolvePolicy(set, request.Policy, context);
        var schema = CompileSchema(request.JsonSchema, "json_schema");
        activity?.SetTag("mesh.guard.policy", policy.Name);

        var outcome = Evaluate(() => evaluator.Evaluate(policy, stage, request.Text, schema, cancellationToken: context.CancellationToken));
        var positions = new CodePoints(request.Text);
        var response = new CheckResponse
        {
            Verdict = ProtoMapping.ToProto(outcome.Verdict),
            RedactedText = outcome.RedactedText,
            Policy = policy.Name,
            PolicyVersion = set.Version,
        };
        response.Violations.AddRange(outcome.Violations.Select(v => ProtoMapping.ToProto(v, positions)));
        if (outcome.Verdict != RuleAction.Allow)
        {
            logger.LogInformation("Check {RequestId} on {Stage} with policy {Policy}: {Verdict} ({ViolationCount} violations)",
                request.RequestId, stage, policy.Name, outcome.Verdict, outcome.Violations.Count);
        }
        return Task.FromResult(response);
    }

    /// <summary>Checks a streamed text chunk by chunk (see guard.proto), settling each violation once the text that can change it has arrived.</summary>
    public override async Task CheckStream(IAsyncStreamReader<CheckStreamRequest> requestStream, IServerStreamWriter<CheckStreamResponse> responseStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct))
        {
            return;
        }
        var first = requestStream.Current;
        var stage = first.Stage == Stage.Unspecified ? Stages.Output : ProtoMapping.FromProto(first.Stage);
        if (stage == Stages.None)
        {
            throw Invalid("stage must be STAGE_INPUT or STAGE_OUTPUT");
        }
        var set = policies.Current;
        var policy = ResolvePolicy(set, first.Policy, context);
        var schema = CompileSchema(first.JsonSchema, "json_schema");

        // Each chunk is judged from the last settled offset (StreamingCheck): the work per chunk
        // does not grow with the text already received.
        var stream = evaluator.StartStream(policy, stage, schema, ct);
        var message = first;
        while (true)
        {
            if (message.Chunk.Length > 0)
            {
                CheckLength(stream.Text.CodePoints + CodePoints.Count(message.Chunk));
                var settled = Evaluate(() => stream.Append(message.Chunk));
                var response = new CheckStreamResponse
                {
                    Verdict = ProtoMapping.ToProto(stream.Verdict),
                    Received = stream.Text.CodePoints,
                    Policy = policy.Name,
                    PolicyVersion = set.Version,
                };
                response.Violations.AddRange(settled.Select(v => ProtoMapping.ToProto(v, stream.Text.CodePointAt)));
                await responseStream.WriteAsync(response, ct);
                if (stream.Verdict == RuleAction.Block)
                {
                    logger.LogInformation("Stream {RequestId} with policy {Policy} blocked after {Received} characters",
                        first.RequestId, policy.Name, response.Received);
                    return;
                }
            }
            if (!await requestStream.MoveNext(ct))
            {
                break;
            }
            message = requestStream.Current;
        }

        var whole = stream.Text.ToString();
        var final = Evaluate(() => evaluator.Evaluate(policy, stage, whole, schema, stream.Embeddings, ct));
        var wholePositions = new CodePoints(whole);
        var last = new CheckStreamResponse
        {
            Verdict = ProtoMapping.ToProto(final.Verdict),
            Received = wholePositions[whole.Length],
            Final = true,
            RedactedText = final.RedactedText,
            Policy = policy.Name,
            PolicyVersion = set.Version,
        };
        last.Violations.AddRange(final.Violations.Select(v => ProtoMapping.ToProto(v, wholePositions)));
        await responseStream.WriteAsync(last, ct);
    }

    /// <summary>Validates a JSON document against a JSON Schema (draft 2020-12); an unusable schema is INVALID_ARGUMENT.</summary>
    public override Task<ValidateJsonResponse> ValidateJson(ValidateJsonRequest request, ServerCallContext context)
    {
        if (request.Schema.Length == 0)
        {
            throw Invalid("schema is required: a JSON Schema as JSON text");
        }
        CheckLength(CodePoints.Count(request.Json));
        var schema = CompileSchema(request.Schema, "schema")!;
        var errors = Evaluate(() => JsonSchemaValidator.Validate(schema, request.Json), "schema");
        var response = new ValidateJsonResponse { Valid = errors.Count == 0 };
        response.Errors.AddRange(errors.Select(e => new V1.SchemaError
        {
            InstanceLocation = e.InstanceLocation,
            KeywordLocation = e.KeywordLocation,
            Message = e.Message,
        }));
        return Task.FromResult(response);
    }

    /// <summary>The loaded policies with their rules, and the version of the policy file.</summary>
    public override Task<ListPoliciesResponse> ListPolicies(ListPoliciesRequest request, ServerCallContext context)
    {
        var set = policies.Current;
        var response = new ListPoliciesResponse { Source = set.Source, Version = set.Version, LastError = policies.LastError };
        response.Policies.AddRange(set.Policies.Values.OrderBy(p => p.Name, StringComparer.Ordinal).Select(ProtoMapping.ToProto));
        foreach (var (tenant, policyName) in set.Tenants)
        {
            response.TenantPolicies[tenant] = policyName;
        }
        return Task.FromResult(response);
    }

    private Policy ResolvePolicy(PolicySet set, string requested, ServerCallContext context)
    {
        var tenant = tenants.Resolve(context);
        Activity.Current?.SetTag("mesh.tenant", tenant);
        return set.Get(requested, tenant);
    }

    private CompiledSchema? CompileSchema(string schemaText, string field)
    {
        if (schemaText.Length == 0)
        {
            return null;
        }
        try
        {
            return schemas.Compile(schemaText);
        }
        catch (InvalidSchemaException e)
        {
            throw Invalid($"{field}: {e.Message}");
        }
    }

    /// <summary>
    /// A request's schema is compiled before evaluation, but applying it can still fail (a pattern
    /// the instance cannot be matched against): that is the caller's schema, INVALID_ARGUMENT.
    /// </summary>
    private static T Evaluate<T>(Func<T> evaluate, string field = "json_schema")
    {
        try
        {
            return evaluate();
        }
        catch (InvalidSchemaException e)
        {
            throw Invalid($"{field}: {e.Message}");
        }
    }

    private void CheckLength(int codePoints)
    {
        var max = options.Value.MaxTextChars;
        if (codePoints > max)
        {
            throw Invalid($"text is longer than {max} characters (Guard:MaxTextChars); split it or raise the limit");
        }
    }

    // Refusals are ServiceExceptions: the ServiceDefaults interceptor maps them to their status for every call type.
    private static ServiceException Invalid(string message) => ServiceException.InvalidArgument(message);
}
