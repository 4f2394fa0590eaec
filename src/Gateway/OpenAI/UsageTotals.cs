namespace Mesh.Gateway.OpenAI;

/// <summary>
/// Token usage summed over a request's choices: every choice reads the same prompt, so the prompt is
/// counted once (as OpenAI reports <c>n</c> &gt; 1) and the completions add up.
/// </summary>
public sealed class UsageTotals
{
    private int _prompt;
    private int _completion;

    /// <summary>Adds one choice's usage (its prompt is the request's).</summary>
    public void Add(Mesh.Inference.V1.Usage usage)
    {
        _prompt = usage.PromptTokens;
        _completion += usage.CompletionTokens;
    }

    /// <summary>The totals in OpenAI's shape.</summary>
    public UsageWire ToWire() => new(_prompt, _completion, _prompt + _completion);
}
