namespace Mesh.Gateway.Authentication;

/// <summary>
/// One API key: who it belongs to, what it may use and how much. Bound from
/// <c>Gateway:ApiKeys:&lt;name&gt;</c>. Only the key's SHA-256 is stored: a leaked configuration does not
/// leak the keys. A plain hash (no salt, no slow KDF) is enough because keys are long random strings,
/// not passwords; generate them with <c>openssl rand -base64 32</c>.
/// </summary>
public sealed class ApiKeyOptions
{
    /// <summary>Lower-case hex SHA-256 of the key's UTF-8 bytes (<c>printf %s "$KEY" | sha256sum</c>). Required.</summary>
    public string Sha256 { get; set; } = "";

    /// <summary>The tenant the services see for calls made with this key. Required.</summary>
    public string Tenant { get; set; } = "";

    /// <summary>Models the key may name in a request's <c>model</c> field; <c>*</c> allows all.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>Collections the key may name in a request's <c>collection</c> field; <c>*</c> allows all.</summary>
    public List<string> Collections { get; set; } = [];

    /// <summary>Calls per second (token bucket, bursts up to one second's worth). &gt; 0; default 50.</summary>
    public int RequestsPerSecond { get; set; } = 50;

    /// <summary>
    /// Generated tokens per minute, counted from the Inference responses. A call is admitted while the
    /// minute's budget is not spent; what it generates is charged as it streams, so the last admitted call
    /// may overshoot (Envoy AI Gateway behaves the same). &gt; 0; default 100000.
    /// </summary>
    public int TokensPerMinute { get; set; } = 100_000;

    /// <summary>Calls (HTTP/2 streams) the key may have open at once. &gt; 0; default 16.</summary>
    public int MaxConcurrentStreams { get; set; } = 16;
}
