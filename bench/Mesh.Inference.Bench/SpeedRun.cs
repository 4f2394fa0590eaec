namespace Mesh.Inference.Bench;

/// <summary>Prefill and decode speed of one engine on one model, and the greedy tokens it produced.</summary>
internal sealed record SpeedRun(double PrefillTokensPerSecond, double DecodeTokensPerSecond, IReadOnlyList<int> GreedyTokens);

/// <summary>A forward-pass engine the speed benchmark can drive: Mesh's CPU backend or llama.cpp.</summary>
internal interface ISpeedSubject : IDisposable
{
    /// <summary>Runs the prompt as one batch, then decodes <paramref name="decode"/> tokens greedily.</summary>
    SpeedRun Run(IReadOnlyList<int> prompt, int decode);
}
