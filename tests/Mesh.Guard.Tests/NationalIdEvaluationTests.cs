using Mesh.Guard.V1;
using Xunit.Abstractions;

namespace Mesh.Guard.Tests;

/// <summary>
/// Presidio's national identifiers, bank numbers, CRYPTO, MAC_ADDRESS, URL and DATE_TIME
/// (Data/national-eval.jsonl, from Data/tools/make_national_eval.py: 22 positives with valid check
/// digits and 22 near misses per entity). Every entity holds precision and recall ≥ 0.9 on the
/// held-out half (even ids) and on the whole set, through the real service.
/// </summary>
[Collection(GuardCollection.Name)]
public sealed class NationalIdEvaluationTests(TestPolicyServer tests, ITestOutputHelper output)
{
    [Fact]
    public async Task Every_national_identifier_and_technical_entity_holds_its_precision_and_recall()
    {
        var examples = EvaluationSet.Load("national-eval.jsonl");
        var all = await SpanScoring.ScoreAsync(tests.Server, examples, "national", Stage.Input, output, "all");
        var heldOut = await SpanScoring.ScoreAsync(tests.Server, SpanScoring.HeldOut(examples), "national", Stage.Input, output, "held-out");
        var entities = examples.SelectMany(e => e.Entities ?? []).Select(e => e.Type).Distinct().ToList();
        Assert.Equal(20, entities.Count);
        foreach (var entity in entities)
        {
            foreach (var (label, scores) in new[] { ("all", all), ("held-out", heldOut) })
            {
                var s = scores[entity];
                Assert.True(s.Precision >= 0.9 && s.Recall >= 0.9, $"{entity} ({label}): {s}");
            }
        }
    }

    [Theory]
    [InlineData("My NHS number is 943 476 5919.", "UK_NHS", true)]
    [InlineData("My NHS number is 943 476 5918.", "UK_NHS", false)]
    [InlineData("Aadhaar 2341 2341 2346", "IN_AADHAAR", true)]
    [InlineData("Send it to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT please", "CRYPTO", true)]
    [InlineData("Send it to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq please", "CRYPTO", true)]
    [InlineData("Send it to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx please", "CRYPTO", false)]
    [InlineData("NRIC S1234567D on file", "SG_NRIC_FIN", true)]
    [InlineData("DNI 12345678Z", "ES_NIF", true)]
    [InlineData("Routing number 011000015 for the wire.", "ABA_ROUTING_NUMBER", true)]
    [InlineData("Order 011000015 for the wire.", "ABA_ROUTING_NUMBER", false)]
    public async Task Published_examples_are_judged_by_their_check_digits(string text, string entity, bool found)
    {
        var response = await tests.Server.CheckAsync(text, Stage.Input, "national");
        Assert.Equal(found, response.Violations.Any(v => v.EntityType == entity));
    }

    [Fact]
    public async Task A_rule_without_entities_runs_the_default_six_and_new_entities_are_opt_in()
    {
        var response = await tests.Server.CheckAsync("See https://example.com/a on 2024-03-15, NHS number 943 476 5919.", Stage.Input, "pii");
        Assert.DoesNotContain(response.Violations, v => v.EntityType is "URL" or "DATE_TIME" or "UK_NHS");
    }
}
