using Mesh.Guard.Quality.Drift;

namespace Mesh.Guard.Tests.Quality;

/// <summary>
/// Question streams for the drift tests, embedded once with the real MiniLM: the demo shop's domain
/// (templated from demo/retail: every product, FAQ and policy), another domain (banking and travel
/// support), and prompt-injection attempts (the labelled attacks of Data/injection-eval.jsonl).
/// </summary>
public static class DriftStreams
{
    private static readonly Lazy<(DriftSample[] Domain, DriftSample[] Other, DriftSample[] Injections)> Pools = new(Build);

    /// <summary>Questions a shopper of the demo store asks.</summary>
    public static DriftSample[] Domain => Pools.Value.Domain;

    /// <summary>Questions of another deployment's domain (banking, travel).</summary>
    public static DriftSample[] Other => Pools.Value.Other;

    /// <summary>Prompt-injection attempts (blocked by Guard's input stage: marked blocked).</summary>
    public static DriftSample[] Injections => Pools.Value.Injections;

    private static (DriftSample[], DriftSample[], DriftSample[]) Build()
    {
        var domain = new List<string>();
        string[] productTemplates = ["Do you have the {0} in stock?", "How much does the {0} cost?", "Can you tell me more about the {0}?"];
        foreach (var product in RetailData.Lines("products.jsonl"))
        {
            var name = product.GetProperty("name").GetString()!;
            domain.AddRange(productTemplates.Select(t => string.Format(System.Globalization.CultureInfo.InvariantCulture, t, name)));
        }

        domain.AddRange(RetailData.Lines("faqs.jsonl").Select(f => f.GetProperty("question").GetString()!));
        domain.AddRange(RetailData.Lines("policies.jsonl").Select(p => $"What is your {p.GetProperty("title").GetString()!.ToLowerInvariant()}?"));

        string[] otherTemplates =
        [
            "How do I reset my online banking password for my {0}?", "What is the interest rate on a {0}?",
            "Can I open a {0} online without visiting a branch?", "Why was my {0} payment declined abroad?",
            "How long does a wire transfer to my {0} take?", "Is my flight to {1} delayed today?",
            "Can I change the date of my hotel booking in {1}?", "Do I need a visa to travel to {1}?",
            "How much luggage can I check in on a flight to {1}?", "What are the best neighbourhoods to stay in {1}?",
        ];
        string[] accounts = ["savings account", "mortgage", "credit card", "checking account", "business loan"];
        string[] cities = ["Tokyo", "Lisbon", "Nairobi", "Buenos Aires", "Reykjavik"];
        var other = new List<string>();
        for (var i = 0; i < accounts.Length; i++)
        {
            other.AddRange(otherTemplates.Select(t => string.Format(System.Globalization.CultureInfo.InvariantCulture, t, accounts[i], cities[i])));
        }

        var injections = EvaluationSet.Load("injection-eval.jsonl").Where(e => e.Label == 1).Select(e => e.Text).ToList();

        var vectors = RetailData.Embedder.Embed([.. domain, .. other, .. injections]);
        DriftSample Sample(string text, float[] vector, bool blocked) =>
            new(vector, null, text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length, null, blocked, false, null);
        return (
            [.. domain.Select((t, i) => Sample(t, vectors[i], false))],
            [.. other.Select((t, i) => Sample(t, vectors[domain.Count + i], false))],
            [.. injections.Select((t, i) => Sample(t, vectors[domain.Count + other.Count + i], true))]);
    }
}
