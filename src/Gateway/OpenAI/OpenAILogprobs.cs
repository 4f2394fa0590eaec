using System.Text;
using Mesh.Inference.V1;

namespace Mesh.Gateway.OpenAI;

/// <summary>Inference's per-token log-probabilities in OpenAI's shapes.</summary>
public static class OpenAILogprobs
{
    /// <summary>The chat shape; <paramref name="top"/> alternatives are listed (Inference may have returned one more than asked).</summary>
    public static TokenLogprobWire Chat(TokenLogprob token, int top) =>
        new(token.Token, token.Logprob, Encoding.UTF8.GetBytes(token.Token),
            token.Top.Take(top).Select(t => new TopLogprobWire(t.Token, t.Logprob, Encoding.UTF8.GetBytes(t.Token))).ToList());
}
