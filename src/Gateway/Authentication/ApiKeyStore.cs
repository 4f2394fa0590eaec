using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Mesh.Gateway.Authentication;

/// <summary>Finds the key a caller presents by its SHA-256.</summary>
public sealed class ApiKeyStore
{
    private readonly FrozenDictionary<string, ApiKey> _byHash;
    private readonly FrozenDictionary<string, ApiKey> _byName;

    /// <summary>Indexes the configured keys by SHA-256 hash and by name.</summary>
    public ApiKeyStore(IOptions<GatewayOptions> options)
    {
        var keys = options.Value.ApiKeys.Select(kv => new ApiKey(kv.Key, kv.Value)).ToList();
        _byHash = keys.ToFrozenDictionary(k => k.Options.Sha256.ToLowerInvariant(), StringComparer.Ordinal);
        _byName = keys.ToFrozenDictionary(k => k.Name, StringComparer.Ordinal);
    }

    /// <summary>
    /// The key whose hash matches. A dictionary lookup on the hash does not leak the key through
    /// timing: a caller cannot steer the hash of what it sends towards a stored one.
    /// </summary>
    public ApiKey? FindByPresentedKey(string presented) =>
        _byHash.TryGetValue(Hash(presented), out var key) ? key : null;

    /// <summary>The key configured under <paramref name="name"/>, or null.</summary>
    public ApiKey? FindByName(string name) => _byName.TryGetValue(name, out var key) ? key : null;

    /// <summary>Lower-case hex SHA-256 of the key's UTF-8 bytes: what <see cref="ApiKeyOptions.Sha256"/> stores.</summary>
    public static string Hash(string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
