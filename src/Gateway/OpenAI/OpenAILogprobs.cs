using System.Text;
using Mesh.Inference.V1;

namespace Mesh.Gateway.OpenAI;

/// <summary>Inference's per-token log-probabilities in OpenAI's shapes.</summary>
public static class OpenAILogprobs
{
    /// <summary>The chat shape; <paramref name="top"/> alternatives are listed (Inference may have returned one more than asked).</summary>
    public static TokenLogprobWire Chat(TokenLogprob token, int top) =>
        new(token.Token, token.Logprob, Bytes(token.Token),
            token.Top.Take(top).Select(t => new TopLogprobWire(t.Token, t.Logprob, Bytes(t.Token))).ToList());

    /// <summary>OpenAI sends a token's UTF-8 bytes as an array of integers, not base64.</summary>
    private static int[] Bytes(string token) => Array.ConvertAll(Encoding.UTF8.GetBytes(token), b => (int)b);
}
