using System.Security.Cryptography;
using Mesh.Gateway.Authentication;

namespace Mesh.Gateway.Tests.Infrastructure;

/// <summary>An API key the test gateway is configured with: a fresh random secret and its settings.</summary>
public sealed record TestKey(
    string Name,
    string Tenant,
    string[] Models,
    string[] Collections,
    int RequestsPerSecond = 10_000,
    int TokensPerMinute = 10_000_000,
    int MaxConcurrentStreams = 64)
{
    public string Secret { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public Grpc.Core.Metadata Metadata => new() { { "authorization", $"Bearer {Secret}" } };

    /// <summary>Configuration arguments, with only the hash of the secret, as an operator would write them.</summary>
    public IEnumerable<string> ConfigurationArgs()
    {
        var at = $"--Gateway:ApiKeys:{Name}";
        yield return $"{at}:Sha256={ApiKeyStore.Hash(Secret)}";
        yield return $"{at}:Tenant={Tenant}";
        yield return $"{at}:RequestsPerSecond={RequestsPerSecond}";
        yield return $"{at}:TokensPerMinute={TokensPerMinute}";
        yield return $"{at}:MaxConcurrentStreams={MaxConcurrentStreams}";
        for (var i = 0; i < Models.Length; i++)
        {
            yield return $"{at}:Models:{i}={Models[i]}";
        }

        for (var i = 0; i < Collections.Length; i++)
        {
            yield return $"{at}:Collections:{i}={Collections[i]}";
        }
    }
}
