namespace Mesh.Gateway.Observability;

/// <summary>
/// The request id that ties a call's access log line, its trace and the services' logs together. A
/// caller's own <c>x-request-id</c> is kept when it is a short printable token; otherwise the
/// gateway makes one.
/// </summary>
public static class RequestIds
{
    /// <summary>The request id header, read from the caller and sent to the services and back.</summary>
    public const string HeaderName = "x-request-id";
    private const int MaxLength = 128;

    /// <summary>The caller's request id when it is 1 to 128 printable ASCII characters without spaces, else a new UUIDv7 (32 hex digits).</summary>
    public static string FromOrNew(HttpContext context)
    {
        string? sent = context.Request.Headers[HeaderName];
        return sent is { Length: > 0 and <= MaxLength } && sent.All(c => c is > ' ' and <= '~')
            ? sent
            : Guid.CreateVersion7().ToString("N");
    }
}
