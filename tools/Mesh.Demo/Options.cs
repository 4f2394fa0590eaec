namespace Mesh.Demo;

/// <summary>
/// Command-line options as <c>--name value</c> pairs and flags, plus positional words. Environment:
/// <c>MESH_GATEWAY</c> (default http://127.0.0.1:8080), <c>MESH_GATEWAY_HTTP</c> (default http://127.0.0.1:8081) and <c>MESH_API_KEY</c> (else the file
/// <c>.mesh/dev-key</c> that <c>scripts/mesh.sh up</c> writes).
/// </summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public Options(IEnumerable<string> args, IReadOnlySet<string> flags)
    {
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var arg = e.Current;
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                Positional.Add(arg);
            }
            else if (flags.Contains(arg[2..]))
            {
                _flags.Add(arg[2..]);
            }
            else if (e.MoveNext())
            {
                _values[arg[2..]] = e.Current;
            }
            else
            {
                throw new ArgumentException($"{arg} needs a value");
            }
        }
    }

    public List<string> Positional { get; } = [];

    public string Gateway => Get("gateway") ?? Environment.GetEnvironmentVariable("MESH_GATEWAY") ?? "http://127.0.0.1:8080";

    /// <summary>The gateway's HTTP endpoint (the OpenAI API): --http-gateway, MESH_GATEWAY_HTTP, or http://127.0.0.1:8081.</summary>
    public string HttpGateway => Get("http-gateway") ?? Environment.GetEnvironmentVariable("MESH_GATEWAY_HTTP") ?? "http://127.0.0.1:8081";

    /// <summary>The API key: --api-key, MESH_API_KEY, or .mesh/dev-key.</summary>
    public string ApiKey =>
        Get("api-key") ?? Environment.GetEnvironmentVariable("MESH_API_KEY")
        ?? (File.Exists(".mesh/dev-key") ? File.ReadAllText(".mesh/dev-key").Trim() : null)
        ?? throw new ArgumentException("no API key: pass --api-key, set MESH_API_KEY, or run scripts/mesh.sh up (writes .mesh/dev-key)");

    public string? Get(string name) => _values.GetValueOrDefault(name);

    public string Require(string name) => Get(name) ?? throw new ArgumentException($"--{name} is required");

    public int Int(string name, int fallback) =>
        Get(name) is { } v ? int.TryParse(v, out var i) ? i : throw new ArgumentException($"--{name} must be an integer, got '{v}'") : fallback;

    public bool Flag(string name) => _flags.Contains(name);
}
