using System.Text.RegularExpressions;
using Mesh.Retrieval.V1;

namespace Mesh.Gateway.Assistant;

/// <summary>
/// The sources an answer cites. The prompt numbers the sources [1]..[n]; an answer names them as
/// "[k]" or "[k, m]". Only numbers of sources that were in the prompt count, so a citation is always
/// a retrieved id, whatever the model writes.
/// </summary>
public static partial class Citations
{
    /// <returns>The ids of the cited sources, each once, in the order the answer first names them.</returns>
    public static IReadOnlyList<PointId> Extract(string answer, IReadOnlyList<ScoredPoint> sources)
    {
        var cited = new List<PointId>();
        var seen = new HashSet<int>();
        foreach (Match match in Reference().Matches(answer))
        {
            foreach (var number in match.Groups[1].Value.Split(','))
            {
                if (int.TryParse(number.Trim(), out var k) && k >= 1 && k <= sources.Count && seen.Add(k))
                {
                    cited.Add(sources[k - 1].Id);
                }
            }
        }

        return cited;
    }

    [GeneratedRegex(@"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")]
    private static partial Regex Reference();
}
