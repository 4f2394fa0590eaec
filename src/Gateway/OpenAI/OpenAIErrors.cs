using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using Mesh.Gateway.GrpcWire;

namespace Mesh.Gateway.OpenAI;

/// <summary>A request the OpenAI API refuses before calling a service; <see cref="Param"/> names the field to fix.</summary>
public sealed class OpenAIRequestException(string param, string message) : Exception(message)
{
    /// <summary>The request field to fix, as OpenAI names it (<c>param</c>).</summary>
    public string Param { get; } = param;
}

/// <summary>
/// The one place gRPC outcomes become OpenAI errors: HTTP status, <c>type</c> and <c>code</c> as OpenAI's
/// API answers them. UNAUTHENTICATED → 401 <c>invalid_api_key</c>, PERMISSION_DENIED → 403,
/// NOT_FOUND → 404 <c>model_not_found</c>, INVALID_ARGUMENT / FAILED_PRECONDITION / OUT_OF_RANGE → 400,
/// RESOURCE_EXHAUSTED → 429 <c>rate_limit_exceeded</c> with <c>retry-after</c> (seconds, rounded up)
/// and <c>retry-after-ms</c> from the service's or the gateway's <c>retry-after-ms</c> trailer,
/// UNAVAILABLE → 503, DEADLINE_EXCEEDED → 504, anything else → 500.
/// </summary>
public static class OpenAIErrors
{
    /// <summary>The HTTP status, error type and code OpenAI answers for a gRPC status.</summary>
    public static (int Status, string Type, string? Code) Map(StatusCode status) => status switch
    {
        StatusCode.Unauthenticated => (401, "invalid_request_error", "invalid_api_key"),
        StatusCode.PermissionDenied => (403, "permission_error", "permission_denied"),
        StatusCode.NotFound => (404, "invalid_request_error", "model_not_found"),
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange
            => (400, "invalid_request_error", "invalid_value"),
        StatusCode.ResourceExhausted => (429, "rate_limit_error", "rate_limit_exceeded"),
        StatusCode.Unavailable => (503, "server_error", "service_unavailable"),
        StatusCode.DeadlineExceeded => (504, "server_error", "timeout"),
        StatusCode.Cancelled => (499, "invalid_request_error", "cancelled"),
        _ => (500, "server_error", null),
    };

    /// <summary>The error of a failed upstream call, before any of the answer was sent.</summary>
    public static Task WriteAsync(HttpContext context, RpcException ex)
    {
        var (status, type, code) = Map(ex.StatusCode);
        TimeSpan? retryAfter = null;
        if (ex.StatusCode == StatusCode.ResourceExhausted)
        {
            var ms = ex.Trailers.GetValue(GrpcError.RetryAfterMsHeader);
            retryAfter = TimeSpan.FromMilliseconds(
                long.TryParse(ms, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : 1000);
        }

        var param = ParamOf(ex);
        return WriteAsync(context, status, new OpenAIErrorWire(ex.Status.Detail, type, param, code), retryAfter);
    }

    /// <summary>
    /// The request field an upstream refusal is about, as OpenAI names it: <c>model</c> for NOT_FOUND
    /// (unless a collection is what was not found: the assistant's <c>mesh.assistant.collection</c>);
    /// <c>response_format</c> when Inference refused the format (its messages start with the field path,
    /// e.g. <c>response_format.json_schema.schema: ...</c>); otherwise none.
    /// </summary>
    public static string? ParamOf(RpcException ex) => ex.StatusCode switch
    {
        StatusCode.NotFound when ex.Status.Detail.Contains("collection", StringComparison.OrdinalIgnoreCase) => "mesh.assistant.collection",
        StatusCode.NotFound => "model",
        StatusCode.InvalidArgument when ex.Status.Detail.StartsWith("response_format", StringComparison.Ordinal) => "response_format",
        _ => null,
    };

    /// <summary>A bad parameter: 400 naming it.</summary>
    public static Task WriteAsync(HttpContext context, OpenAIRequestException ex) =>
        WriteAsync(context, 400, new OpenAIErrorWire(ex.Message, "invalid_request_error", ex.Param, "invalid_value"), null);

    /// <summary>
    /// A failed upstream call, wherever the answer stood: nothing when the caller already hung up (the
    /// upstream call was cancelled with it), the HTTP error when nothing was sent yet
    /// (<paramref name="started"/> false), else a last server-sent <c>error</c> event.
    /// </summary>
    public static async Task WriteFailureAsync(HttpContext context, RpcException ex, bool started)
    {
        if (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        if (!started)
        {
            await WriteAsync(context, ex);
            return;
        }

        await ServerSentEvents.WriteAsync(context, Body(ex), OpenAIJsonContext.Default.OpenAIErrorBody);
    }

    /// <summary>The same error as a last server-sent event, for a stream that already began.</summary>
    public static OpenAIErrorBody Body(RpcException ex) =>
        new(new OpenAIErrorWire(ex.Status.Detail, Map(ex.StatusCode).Type, null, Map(ex.StatusCode).Code));

    private static async Task WriteAsync(HttpContext context, int status, OpenAIErrorWire error, TimeSpan? retryAfter)
    {
        var response = context.Response;
        response.StatusCode = status;
        if (retryAfter is { } delay)
        {
            var ms = Math.Max(1, (long)Math.Ceiling(delay.TotalMilliseconds));
            response.Headers.RetryAfter = ((ms + 999) / 1000).ToString(CultureInfo.InvariantCulture);
            response.Headers[GrpcError.RetryAfterMsHeader] = ms.ToString(CultureInfo.InvariantCulture);
        }

        if (status == 401)
        {
            response.Headers.WWWAuthenticate = "Bearer";
        }

        response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(response.Body, new OpenAIErrorBody(error), OpenAIJsonContext.Default.OpenAIErrorBody, context.RequestAborted);
    }
}
