namespace Mesh.Gateway.Observability;

/// <summary>
/// The request id that ties a call's access log line, its trace and the services' logs together. A
/// caller's own <c>x-request-id</c> is kept when it is a short printable token; otherwise the
/// gateway makes one.
/// </summary>
public static class RequestIds
{
    public const string HeaderName = "x-request-id";
    private const int MaxLength = 128;

    public static string FromOrNew(HttpContext context)
    {
        string? sent = context.Request.Headers[HeaderName];
        return sent is { Length: > 0 and <= MaxLength } && sent.All(c => c is > ' ' and <= '~')
            ? sent
            : Guid.CreateVersion7().ToString("N");
    }
}
