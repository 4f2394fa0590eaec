using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Mesh.ServiceDefaults.Hosting;

/// <summary>
/// What every Mesh host's Program.cs would otherwise repeat: default endpoints, the shared defaults
/// (<see cref="MeshServiceDefaults.AddMeshServiceDefaults"/>), options validated at start, and a
/// start-up that reports a refused configuration as one line and a non-zero exit code instead of an
/// unhandled exception (exit 134 with a stack trace).
/// </summary>
public static partial class MeshHost
{
    /// <summary>
    /// Sets the host's default endpoints (gRPC on <paramref name="grpcPort"/>, /metrics and /healthz on
    /// <paramref name="httpPort"/>, both on loopback; configuration overrides them) and adds
    /// <see cref="MeshServiceDefaults.AddMeshServiceDefaults"/>.
    /// </summary>
    public static WebApplicationBuilder AddMeshHost(this WebApplicationBuilder builder, string serviceName, int grpcPort, int httpPort)
    {
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"{MeshEndpointOptions.SectionName}:Grpc"] = $"http://127.0.0.1:{grpcPort}",
            [$"{MeshEndpointOptions.SectionName}:Http"] = $"http://127.0.0.1:{httpPort}",
        }.Where(kv => builder.Configuration[kv.Key] is null));
        return builder.AddMeshServiceDefaults(serviceName);
    }

    /// <summary>
    /// Binds <typeparamref name="TOptions"/> from <paramref name="section"/> and checks it with
    /// <typeparamref name="TValidator"/> when the host starts (and whenever it is first read), so a
    /// wrong setting stops the host with the setting's name instead of failing calls later.
    /// </summary>
    public static OptionsBuilder<TOptions> AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, IConfiguration section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
        return services.AddOptions<TOptions>().Bind(section).ValidateOnStart();
    }

    /// <summary>
    /// Builds and runs a host until it is shut down. A configuration it refuses while starting
    /// (<see cref="IsConfigurationError"/>) is printed to stderr as one line, <c>error: …</c>, and the
    /// exit code is 1; anything else propagates.
    /// </summary>
    public static async Task<int> RunAsync(Func<string[], WebApplication> createApp, string[] args)
    {
        WebApplication app;
        try
        {
            app = createApp(args);
            // Options validated on start are checked here first, so that a refusal is reported once,
            // by the line below, rather than also as the host's "Hosting failed to start" stack trace.
            app.Services.GetService<IStartupValidator>()?.Validate();
            await app.StartAsync();
        }
        catch (Exception e) when (IsConfigurationError(e))
        {
            await Console.Error.WriteLineAsync($"error: {Describe(e)}");
            return 1;
        }

        await using (app)
        {
            await app.WaitForShutdownAsync();
        }

        return 0;
    }

    /// <summary>
    /// A failed options validation, a setting that does not convert to its type (configuration
    /// binding's <see cref="InvalidOperationException"/>), or a file a setting names that is missing.
    /// </summary>
    public static bool IsConfigurationError(Exception e) =>
        e is OptionsValidationException or FileNotFoundException or DirectoryNotFoundException
        || (e is InvalidOperationException && e.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
        || (e is AggregateException { InnerExceptions: [var single] } && IsConfigurationError(single));

    /// <summary>
    /// The one line that tells an operator what to fix: the validation failures, or the conversion
    /// message with its cause and, for an enum setting, the values it accepts; otherwise the message.
    /// </summary>
    public static string Describe(Exception e) => e switch
    {
        OptionsValidationException v => string.Join(" ", v.Failures),
        AggregateException { InnerExceptions: [var single] } => Describe(single),
        InvalidOperationException { InnerException: { } inner } => $"{e.Message} ({inner.Message}){AllowedValues(e.Message)}",
        InvalidOperationException => e.Message + AllowedValues(e.Message),
        _ => e.Message,
    };

    /// <summary>
    /// For configuration binding's "Failed to convert configuration value 'x' at 'Section:Key' to type
    /// 'Namespace.Enum'.", the names the setting accepts (" Allowed values: A, B."), so that a misspelt
    /// enum names its fix; empty for any other message or type. The binder names the type but not its
    /// members, and an enum's full name is unique among the loaded assemblies.
    /// </summary>
    private static string AllowedValues(string message)
    {
        var match = ConvertedType().Match(message);
        if (!match.Success)
        {
            return "";
        }

        var name = match.Groups[1].Value;
        var type = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(name)).FirstOrDefault(t => t is not null);
        return type is { IsEnum: true } ? $" Allowed values: {string.Join(", ", Enum.GetNames(type))}." : "";
    }

    [GeneratedRegex(@"to type '([^']+)'\.?$")]
    private static partial Regex ConvertedType();
}
