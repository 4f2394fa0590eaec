using System.Text;
using Mesh.Guard.Detectors.Ner;
using Mesh.Guard.Policies;
using Mesh.Guard.Tests.Onnx;
using Mesh.Guard.V1;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Guard.Tests;

/// <summary>One Guard host whose policy file names the tiny NER model the fixture writes.</summary>
public sealed class NerServer : IAsyncLifetime
{
    public string Folder { get; } = Directory.CreateTempSubdirectory("guard-ner-").FullName;

    public GuardServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        TinyNerModel.Write(Folder);
        var labels = string.Join(", ", TinyNerModel.Labels);
        // Relative paths: resolved against the policy file's folder.
        var policy = $"""
            policies:
              default:
                rules:
                  - name: names
                    detector: ner
                    model: model.onnx
                    vocab: vocab.txt
                    lowercase: true
                    labels: [{labels}]
                    action: redact
              windowed:
                rules:
                  - name: names
                    detector: ner
                    model: model.onnx
                    vocab: vocab.txt
                    lowercase: true
                    labels: [{labels}]
                    max_sequence_length: 8
                    window_overlap: 2
                    action: redact
            """;
        var path = Path.Combine(Folder, "policies.yaml");
        File.WriteAllText(path, policy);
        Server = await GuardServer.StartAsync(path);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }
}

/// <summary>
/// The NER detector end to end: a model the test writes (<see cref="TinyNerModel"/>, whose labels
/// are fixed per token id), the real host, Check over gRPC on loopback. Checks plumbing, offsets in
/// code points, WordPiece merging, BIO decoding, min_score, windowing and batching — not accuracy.
/// </summary>
public sealed class NerDetectorTests(NerServer fixture) : IClassFixture<NerServer>
{
    private readonly GuardServer _server = fixture.Server;

    [Fact]
    public async Task Names_places_and_organisations_are_redacted_at_their_code_point_spans_after_non_ascii_text()
    {
        // Accents, an emoji (a surrogate pair), a dash and a combining mark come before the entities.
        const string text = "Café 😀 — nai\u0308ve: Alice Smith visited New York and Acme Corp.";
        var response = await _server.CheckAsync(text, Stage.Output);

        Assert.Equal(V1.Action.Redact, response.Verdict);
        Assert.Equal("Café 😀 — nai\u0308ve: <PERSON> visited <LOCATION> and <ORGANIZATION>.", response.RedactedText);
        var found = response.Violations.Select(v => (v.EntityType, v.Start, v.End)).ToList();
        Assert.Equal(
            [Span(text, "PERSON", "Alice Smith"), Span(text, "LOCATION", "New York"), Span(text, "ORGANIZATION", "Acme Corp")],
            found);
        Assert.All(response.Violations, v => Assert.Equal("pii", v.Category));
        Assert.All(response.Violations, v => Assert.InRange(v.Score, 0.99f, 1f));
    }

    [Fact]
    public async Task Word_pieces_are_merged_into_words_and_weak_or_unmapped_labels_are_not_reported()
    {
        // "John" is "jo ##hn": the second piece's own label is O, the word is PERSON. "rumor" is
        // B-ORG at probability 0.31 (< min_score 0.5); "gala" is B-MISC, which maps to no entity.
        const string text = "John met rumor at the gala, and Paris.";
        var response = await _server.CheckAsync(text, Stage.Input);

        Assert.Equal([Span(text, "PERSON", "John"), Span(text, "LOCATION", "Paris")],
            response.Violations.Select(v => (v.EntityType, v.Start, v.End)).ToList());
        Assert.Equal("<PERSON> met rumor at the gala, and <LOCATION>.", response.RedactedText);
    }

    [Fact]
    public async Task Consecutive_begin_labels_are_separate_entities_and_an_inside_label_after_another_type_starts_one()
    {
        // "paris new york": B-LOC, B-LOC I-LOC → two places; "york smith": I-LOC I-PER → a place, then a person.
        const string text = "paris new york smith";
        var response = await _server.CheckAsync(text, Stage.Input);
        Assert.Equal(
            [("LOCATION", 0, 5), ("LOCATION", 6, 14), ("PERSON", 15, 20)],
            response.Violations.Select(v => (v.EntityType, v.Start, v.End)).ToList());
    }

    [Fact]
    public async Task A_long_text_is_windowed_with_overlap_and_its_windows_run_in_batches()
    {
        var model = Detector("windowed").Model;
        // Windows of 6 pieces, stride 4: entities fall across window edges everywhere.
        var text = Repeat("the word alice smith met 😀 in new york at acme corp , ", 20);
        var pieces = WordSplitter.Split(text).Count;
        var windows = ((pieces - 6 + 3) / 4) + 1;
        Assert.True(windows > NerModel.MaxBatch, $"{windows} windows");

        var runsBefore = model.Runs;
        var windowed = await _server.CheckAsync(text, Stage.Output, policy: "windowed");
        Assert.Equal((windows + NerModel.MaxBatch - 1) / NerModel.MaxBatch, model.Runs - runsBefore);

        var expected = Occurrences(text, "PERSON", "alice smith")
            .Concat(Occurrences(text, "LOCATION", "new york"))
            .Concat(Occurrences(text, "ORGANIZATION", "acme corp"))
            .OrderBy(s => s.Start).ToList();
        Assert.Equal(60, expected.Count);
        Assert.Equal(expected, windowed.Violations.Select(v => (v.EntityType, v.Start, v.End)).ToList());

        // One 512-token window sees the same entities.
        var whole = await _server.CheckAsync(text, Stage.Output);
        Assert.Equal(expected, whole.Violations.Select(v => (v.EntityType, v.Start, v.End)).ToList());
    }

    [Fact]
    public async Task The_detector_is_off_in_the_shipped_policy_which_names_no_model()
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "policies.yaml"));
        var set = new PolicyParser(new ZeroEmbedder()).Parse(text, "policies.yaml", 1);
        Assert.DoesNotContain(set.Policies.Values.SelectMany(p => p.Rules), r => r.DetectorKind == "ner");
        await Task.CompletedTask;
    }

    [Fact]
    public void Words_are_cut_into_the_vocabularys_pieces_and_unknown_words_are_unk()
    {
        var model = Detector("default").Model;
        Assert.Equal([12, 13], model.Pieces("John"));
        Assert.Equal([1], model.Pieces("😀"));
        Assert.Equal([1], model.Pieces("—"));
        // Accents are stripped (lowercase: true) from decomposed text; a precomposed "é" is decomposed
        // only where .NET has ICU, which Mesh's invariant-globalization build does not (README).
        Assert.Equal([21], model.Pieces("Cafe\u0301"));
        Assert.Equal([5], model.Pieces("Al\u200Bice"));
        Assert.Empty(model.Pieces("\u200B"));
    }

    private NerDetector Detector(string policy)
    {
        var store = _server.App.Services.GetRequiredService<PolicyStore>();
        return (NerDetector)store.Current.Policies[policy].Rules.Single().Detector;
    }

    private static string Repeat(string s, int n) => new StringBuilder().Insert(0, s, n).ToString();

    private static (string, int, int) Span(string text, string entity, string value)
    {
        var start = text.IndexOf(value, StringComparison.Ordinal);
        Assert.True(start >= 0, value);
        return (entity, CodePoints(text, start), CodePoints(text, start + value.Length));
    }

    private static IEnumerable<(string EntityType, int Start, int End)> Occurrences(string text, string entity, string value)
    {
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            yield return (entity, CodePoints(text, i), CodePoints(text, i + value.Length));
        }
    }

    private static int CodePoints(string text, int utf16) => text[..utf16].EnumerateRunes().Count();
}
