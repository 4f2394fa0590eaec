using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Mesh.Gateway.OpenAI;

/// <summary>Reads an OpenAI request body, bounded by <see cref="GatewayOptions.MaxRequestMessageBytes"/>.</summary>
public static class OpenAIRequests
{
    /// <summary>The request body as <typeparamref name="T"/>; an <see cref="OpenAIRequestException"/> for a body that is not JSON, too large, or malformed.</summary>
    public static async Task<T> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type)
        where T : class
    {
        if (!context.Request.HasJsonContentType())
        {
            throw new OpenAIRequestException("body", "The body must be JSON (Content-Type: application/json).");
        }

        var limit = context.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<GatewayOptions>>().Value.MaxRequestMessageBytes;
        if (context.Request.ContentLength > limit)
        {
            throw new OpenAIRequestException("body", $"The body is {context.Request.ContentLength} bytes; at most {limit} are accepted.");
        }

        var sizeLimit = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>();
        if (sizeLimit is { IsReadOnly: false })
        {
            sizeLimit.MaxRequestBodySize = limit;
        }

        try
        {
            return await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted)
                ?? throw new OpenAIRequestException("body", "The body must be a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new OpenAIRequestException(ex.Path is { Length: > 2 } path ? path[2..] : "body", $"The body is not a valid request: {ex.Message}");
        }
        catch (BadHttpRequestException ex)
        {
            throw new OpenAIRequestException("body", ex.Message);
        }
    }
}
