namespace Mesh.Gateway.OpenAI;

/// <summary>
/// The OpenAI-compatible HTTP API on the gateway's HTTP endpoint: <c>/v1/chat/completions</c>,
/// <c>/v1/completions</c>, <c>/v1/embeddings</c> and <c>/v1/models</c>. Keys, tenants, model permissions and limits are the
/// gRPC API's (see <see cref="GatewayLoopback"/>).
/// </summary>
public static class OpenAIEndpoints
{
    /// <summary>Registers what the OpenAI API needs (the loopback channel).</summary>
    public static IServiceCollection AddOpenAIApi(this IServiceCollection services) =>
        services.AddSingleton<GatewayLoopback>();

    /// <summary>Maps the <c>/v1</c> endpoints.</summary>
    public static IEndpointRouteBuilder MapOpenAIApi(this IEndpointRouteBuilder endpoints)
    {
        var v1 = endpoints.MapGroup("/v1");
        v1.MapPost("/chat/completions", ChatCompletionsEndpoint.HandleAsync);
        v1.MapPost("/completions", CompletionsEndpoint.HandleAsync);
        v1.MapGet("/models", ModelsEndpoint.HandleAsync);
        v1.MapPost("/embeddings", EmbeddingsEndpoint.HandleAsync);
        return endpoints;
    }
}
