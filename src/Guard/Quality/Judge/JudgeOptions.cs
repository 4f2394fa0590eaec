namespace Mesh.Guard.Quality.Judge;

/// <summary>
/// The judge model behind <c>QualityService/Evaluate</c>, bound from <c>Guard:Judge</c>. Without an
/// <see cref="Endpoint"/> no judge is configured and Evaluate answers FAILED_PRECONDITION.
/// </summary>
public sealed class JudgeOptions
{
    /// <summary>The Inference server's gRPC address (http:// or https://); empty: no judge.</summary>
    public string Endpoint { get; set; } = "";

    /// <summary>The judge's model id as that server's ListModels reports it; required with <see cref="Endpoint"/>.</summary>
    public string Model { get; set; } = "";

    /// <summary>Longest a judge call may take, in seconds, when the caller's deadline is later (or absent).</summary>
    public double TimeoutSeconds { get; set; } = 60;

    /// <summary>The judge's max_tokens: enough for <c>{"score": n, "reason": "…"}</c> with the longest reason.</summary>
    public int MaxTokens { get; set; } = 256;

    /// <summary>Longest reason the judge may write, in characters (the schema's maxLength).</summary>
    public int MaxReasonChars { get; set; } = 300;

    /// <summary>Whether a judge is configured.</summary>
    public bool Configured => Endpoint.Length > 0;
}
