using System.Text.RegularExpressions;

namespace Mesh.Guard.Quality;

/// <summary>
/// Citation marks in an answer: "[k]" or "[k, m]", the numbers of the prompt's sources [1]..[n]
/// (the convention of the gateway's assistant prompt).
/// </summary>
public static partial class CitationMarks
{
    /// <summary>Every number cited, in order, repeats included.</summary>
    public static IReadOnlyList<int> Numbers(string answer)
    {
        var numbers = new List<int>();
        foreach (Match match in Mark().Matches(answer))
        {
            foreach (var part in match.Groups[1].Value.Split(','))
            {
                numbers.Add(int.Parse(part.Trim(), System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return numbers;
    }

    /// <summary>The text without its citation marks (they carry no meaning to embed).</summary>
    public static string Strip(string text) => Mark().Replace(text, "").Trim();

    [GeneratedRegex(@"\s*\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")]
    private static partial Regex Mark();
}
