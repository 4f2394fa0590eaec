using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Mesh.Gateway.OpenAI;

/// <summary>
/// Writes a streamed OpenAI answer: <c>text/event-stream</c>, one <c>data: {json}</c> event per chunk,
/// flushed as it is written, ended by <c>data: [DONE]</c>, as OpenAI's clients expect.
/// </summary>
public static class ServerSentEvents
{
    private static readonly byte[] Prefix = "data: "u8.ToArray();
    private static readonly byte[] Separator = "\n\n"u8.ToArray();
    private static readonly byte[] Done = Encoding.UTF8.GetBytes("data: [DONE]\n\n");

    /// <summary>Starts the event stream: status 200, <c>text/event-stream</c>, no caching or proxy buffering.</summary>
    public static void Start(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        // Ask proxies in front of the gateway not to buffer the stream.
        context.Response.Headers["X-Accel-Buffering"] = "no";
    }

    /// <summary>Writes one <c>data:</c> event holding <paramref name="value"/> as JSON, and flushes it.</summary>
    public static async Task WriteAsync<T>(HttpContext context, T value, JsonTypeInfo<T> type)
    {
        var body = context.Response.Body;
        await body.WriteAsync(Prefix, context.RequestAborted);
        await JsonSerializer.SerializeAsync(body, value, type, context.RequestAborted);
        await body.WriteAsync(Separator, context.RequestAborted);
        await body.FlushAsync(context.RequestAborted);
    }

    /// <summary>Writes the final <c>data: [DONE]</c>.</summary>
    public static async Task WriteDoneAsync(HttpContext context)
    {
        await context.Response.Body.WriteAsync(Done, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }
}
