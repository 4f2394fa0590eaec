namespace Mesh.Inference.Engine;

/// <summary>
/// Proposes draft tokens for speculative decoding by prompt lookup (vLLM's <c>ngram</c> method,
/// after Saxena's "prompt lookup decoding"): find the longest n-gram, with
/// <c>prompt_lookup_min</c> ≤ n ≤ <c>prompt_lookup_max</c>, that ends the sequence's tokens and also
/// occurs earlier in them, and propose the (at most k) tokens that followed its earliest occurrence.
/// Text that copies from its prompt (a grounded answer quoting its source, code being edited) is
/// drafted correctly for whole runs; the target model then checks the draft in one forward pass.
/// Matches are the same as vLLM v1's <c>_find_longest_matched_ngram_and_propose_tokens</c> (the
/// longest n-gram wins, the earliest occurrence among equally long ones), computed here by a direct
/// scan: O(tokens × prompt_lookup_max) per call.
/// </summary>
internal static class NgramProposer
{
    /// <summary>
    /// Writes into <paramref name="drafts"/> up to its length of tokens that followed the earliest
    /// longest earlier occurrence of an n-gram ending <paramref name="tokens"/>, with
    /// <paramref name="minN"/> ≤ n ≤ <paramref name="maxN"/>. Returns how many it wrote: 0 when no
    /// such n-gram exists; fewer than asked when the occurrence is close to the end.
    /// </summary>
    public static int Propose(ReadOnlySpan<int> tokens, int minN, int maxN, Span<int> drafts)
    {
        var length = tokens.Length;
        if (drafts.Length == 0 || minN < 1 || maxN < minN || length <= minN)
        {
            return 0;
        }

        var last = length - 1;
        var bestLength = 0;
        var bestEnd = -1;
        // Candidate occurrences end at every index before the last; the first with the greatest
        // match length wins, and no later one can beat a match of maxN.
        for (var end = 0; end < last && bestLength < maxN; end++)
        {
            if (tokens[end] != tokens[last])
            {
                continue;
            }

            var n = 1;
            while (n < maxN && n <= end && tokens[end - n] == tokens[last - n])
            {
                n++;
            }

            if (n > bestLength)
            {
                bestLength = n;
                bestEnd = end;
            }
        }

        if (bestLength < minN)
        {
            return 0;
        }

        var from = bestEnd + 1;
        var count = Math.Min(drafts.Length, length - from);
        tokens.Slice(from, count).CopyTo(drafts);
        return count;
    }
}
