using Mesh.Inference.Engine;

namespace Mesh.Inference.Tests.Engine;

/// <summary>The prompt-lookup proposer picks the draft vLLM's <c>ngram</c> method picks.</summary>
public sealed class NgramProposerTests
{
    [Fact]
    public void TheLongestMatchingNgramProposesWhatFollowedIt()
    {
        // vLLM's own example: [4,2,3] has no earlier match; [2,3] matches at the start and three tokens follow.
        Assert.Equal([4, 2, 3], Propose([1, 2, 3, 4, 2, 3], minN: 2, maxN: 3, k: 4));
        // A 3-gram match wins over an earlier 2-gram match.
        Assert.Equal([7, 1, 2, 3], Propose([2, 3, 6, 1, 2, 3, 7, 1, 2, 3], minN: 1, maxN: 3, k: 4));
        Assert.Equal([7, 1], Propose([2, 3, 6, 1, 2, 3, 7, 1, 2, 3], minN: 1, maxN: 3, k: 2));
    }

    [Fact]
    public void AmongEquallyLongMatchesTheEarliestWins()
    {
        Assert.Equal([8, 1, 2], Propose([1, 2, 8, 1, 2, 9, 1, 2], minN: 2, maxN: 2, k: 3));
    }

    [Fact]
    public void NothingIsProposedBelowTheMinimumLengthOrWithoutAMatch()
    {
        Assert.Empty(Propose([1, 2, 3, 4, 5, 3], minN: 2, maxN: 4, k: 4)); // only the 1-gram [3] recurs
        Assert.Equal([4, 5, 3], Propose([1, 2, 3, 4, 5, 3], minN: 1, maxN: 4, k: 4));
        Assert.Empty(Propose([1, 2, 3, 4], minN: 1, maxN: 4, k: 4));
        Assert.Empty(Propose([7], minN: 1, maxN: 4, k: 4));
        Assert.Empty(Propose([1, 1, 1], minN: 1, maxN: 4, k: 0));
    }

    [Fact]
    public void ARepeatedTokenRunProposesItsContinuation()
    {
        // Overlapping occurrences count, as in vLLM: the earliest 2-gram [5,5] is followed by more fives;
        // with n up to 4 the only 4-gram occurrence ends one before the last token, leaving one to propose.
        Assert.Equal([5, 5, 5], Propose([5, 5, 5, 5, 5], minN: 2, maxN: 2, k: 3));
        Assert.Equal([5], Propose([5, 5, 5, 5, 5], minN: 2, maxN: 4, k: 3));
    }

    private static int[] Propose(int[] tokens, int minN, int maxN, int k)
    {
        var drafts = new int[k];
        var n = NgramProposer.Propose(tokens, minN, maxN, drafts);
        return drafts[..n];
    }
}
