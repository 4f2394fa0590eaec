using System.Text.Json;

namespace Mesh.Guard.Quality.Judge;

/// <summary>The judge's grade: <see cref="Score"/> 1..5 and its <see cref="Reason"/>.</summary>
public sealed record JudgeVerdict(int Score, string Reason)
{
    /// <summary>
    /// Parses and validates the judge's output against <see cref="JudgePrompt.Schema"/>'s shape: an
    /// object with an integer score in 1..5 and a non-empty string reason of at most (code points, as JSON Schema counts)
    /// <paramref name="maxReasonChars"/> characters.
    /// </summary>
    /// <exception cref="FormatException">The text is not such an object; the message says what is wrong.</exception>
    public static JudgeVerdict Parse(string text, int maxReasonChars)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new FormatException($"not JSON ({e.Message})", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"a JSON {root.ValueKind}, not an object");
            }

            if (!root.TryGetProperty("score", out var s) || s.ValueKind != JsonValueKind.Number || !s.TryGetInt32(out var score) || score is < 1 or > 5)
            {
                throw new FormatException("'score' is not an integer in 1..5");
            }

            if (!root.TryGetProperty("reason", out var r) || r.ValueKind != JsonValueKind.String || r.GetString() is not { Length: > 0 } reason
                || Checking.CodePoints.Count(reason) > maxReasonChars)
            {
                throw new FormatException($"'reason' is not a string of 1 to {maxReasonChars} characters");
            }

            return new JudgeVerdict(score, reason);
        }
    }
}
