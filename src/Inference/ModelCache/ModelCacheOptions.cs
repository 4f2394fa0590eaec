namespace Mesh.Inference.ModelCache;

/// <summary>
/// Where the model cache lives, how the Hub is reached and the bounds on what a pull may fetch.
/// <see cref="FromEnvironment"/> reads the variables llama.cpp, huggingface_hub and vLLM users know.
/// </summary>
public sealed class ModelCacheOptions
{
    /// <summary>The public Hugging Face Hub.</summary>
    public static readonly Uri PublicHub = new("https://huggingface.co/");

    /// <summary>The cache root (<c>$MESH_HOME</c>, else <c>~/.cache/mesh</c>): <c>blobs/</c>, <c>models/</c>, <c>locks/</c>.</summary>
    public string Home { get; set; } = DefaultHome();

    /// <summary>Never touch the network: resolve from the cache or refuse (<c>MESH_OFFLINE=1</c>, <c>HF_HUB_OFFLINE=1</c>, <c>--offline</c>).</summary>
    public bool Offline { get; set; }

    /// <summary>The Hub or a mirror of its API (<c>HF_ENDPOINT</c>); default https://huggingface.co.</summary>
    public Uri Endpoint { get; set; } = PublicHub;

    /// <summary>Access token sent as <c>Authorization: Bearer</c> to the Hub endpoint only (<c>HF_TOKEN</c>); never to redirect targets on other hosts.</summary>
    public string? Token { get; set; }

    /// <summary>Most files one reference may fetch (a whole repository directory included).</summary>
    public int MaxFiles { get; set; } = 256;

    /// <summary>Largest single file, in bytes (default 512 GiB).</summary>
    public long MaxFileBytes { get; set; } = 512L << 30;

    /// <summary>Most bytes one reference may fetch over all its files (default 1 TiB).</summary>
    public long MaxTotalBytes { get; set; } = 1L << 40;

    /// <summary>Largest Hub API answer (the file list), in bytes.</summary>
    public int MaxApiResponseBytes { get; set; } = 16 << 20;

    /// <summary>Seconds without a byte arriving before a download is given up (it resumes on the next pull).</summary>
    public int StallTimeoutSeconds { get; set; } = 60;

    /// <summary>
    /// Options from the environment: <c>MESH_HOME</c>, <c>MESH_OFFLINE</c> / <c>HF_HUB_OFFLINE</c> (1, true, yes),
    /// <c>HF_ENDPOINT</c>, <c>HF_TOKEN</c>.
    /// </summary>
    /// <exception cref="ModelCacheException"><c>HF_ENDPOINT</c> is not an http(s) URL.</exception>
    public static ModelCacheOptions FromEnvironment()
    {
        var options = new ModelCacheOptions
        {
            Offline = IsSet("MESH_OFFLINE") || IsSet("HF_HUB_OFFLINE"),
            Token = Environment.GetEnvironmentVariable("HF_TOKEN") is { Length: > 0 } token ? token.Trim() : null,
        };
        if (Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } endpoint)
        {
            if (!Uri.TryCreate(endpoint.EndsWith('/') ? endpoint : endpoint + "/", UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new ModelCacheException($"HF_ENDPOINT '{endpoint}' is not an http(s) URL");
            }

            options.Endpoint = uri;
        }

        return options;
    }

    /// <summary>The name of the offline switch that is set, for messages.</summary>
    internal static string OfflineSwitch() =>
        IsSet("MESH_OFFLINE") ? "MESH_OFFLINE=1" : IsSet("HF_HUB_OFFLINE") ? "HF_HUB_OFFLINE=1" : "--offline";

    private static bool IsSet(string name) =>
        Environment.GetEnvironmentVariable(name)?.Trim().ToLowerInvariant() is "1" or "true" or "yes" or "on";

    private static string DefaultHome()
    {
        if (Environment.GetEnvironmentVariable("MESH_HOME") is { Length: > 0 } home)
        {
            return Path.GetFullPath(home);
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var cache = xdg is { Length: > 0 } ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(cache, "mesh");
    }
}
