namespace Mesh.Gateway.Assistant;

/// <summary>Adds the assistant pipeline to the gateway host.</summary>
public static class AssistantRegistration
{
    /// <summary>Registers the pipeline's clients, cache and options (section <c>Gateway:Assistant</c>).</summary>
    public static IServiceCollection AddMeshAssistant(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AssistantOptions>().Bind(configuration.GetSection(AssistantOptions.SectionName))
            .Validate(o => o.ScoreSampleRate is >= 0 and <= 1,
                $"{AssistantOptions.SectionName}:ScoreSampleRate must be in [0, 1] (the share of answers scored; 1 scores every one)")
            .ValidateOnStart();
        services.AddSingleton<UpstreamClients>();
        services.AddSingleton<InputCheckCache>();
        services.AddSingleton<PromptTokenCache>();
        services.AddSingleton<AnswerScoring>();
        return services;
    }

    /// <summary>Maps <c>mesh.assistant.v1.AssistantService</c>; like every route, it needs a known API key.</summary>
    public static WebApplication MapMeshAssistant(this WebApplication app)
    {
        app.MapGrpcService<AssistantGrpcService>().RequireAuthorization();
        return app;
    }
}
