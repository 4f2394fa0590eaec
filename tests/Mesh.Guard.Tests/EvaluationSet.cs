using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mesh.Guard.Tests;

/// <summary>One labelled example of an evaluation set (the JSONL files under Data/).</summary>
public sealed record LabelledExample(
    [property: JsonPropertyName("id")] int Id,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("label")] int Label,
    [property: JsonPropertyName("kind")] string? Kind,
    [property: JsonPropertyName("entities")] IReadOnlyList<LabelledSpan>? Entities);

/// <summary>A labelled entity: type and [start, end) in code points.</summary>
public sealed record LabelledSpan(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("start")] int Start,
    [property: JsonPropertyName("end")] int End);

/// <summary>
/// Precision and recall from counts: <see cref="CorrectPredictions"/> of <see cref="Predicted"/>
/// predictions were right, <see cref="Found"/> of <see cref="Actual"/> labelled items were found.
/// (For whole-text labels the two numerators are equal; for spans they can differ.)
/// </summary>
public sealed record Score(int CorrectPredictions, int Predicted, int Found, int Actual)
{
    public double Precision => Predicted == 0 ? 1 : (double)CorrectPredictions / Predicted;

    public double Recall => Actual == 0 ? 1 : (double)Found / Actual;

    public override string ToString() => $"precision {Precision:F3} ({CorrectPredictions}/{Predicted}), recall {Recall:F3} ({Found}/{Actual})";
}

public static class EvaluationSet
{
    public static IReadOnlyList<LabelledExample> Load(string name) =>
        File.ReadLines(GuardServer.DataFile(name))
            .Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize<LabelledExample>(l) ?? throw new InvalidDataException($"bad line in {name}: {l}"))
            .ToList();

    /// <summary>Runs <paramref name="check"/> over every example with bounded concurrency, keeping order.</summary>
    public static async Task<T[]> MapAsync<T>(IReadOnlyList<LabelledExample> examples, Func<LabelledExample, Task<T>> check, int parallelism = 4)
    {
        var results = new T[examples.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, examples.Count), new ParallelOptions { MaxDegreeOfParallelism = parallelism },
            async (i, _) => results[i] = await check(examples[i]));
        return results;
    }
}
