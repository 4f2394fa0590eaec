using Mesh.Guard.Policies;
using Mesh.Guard.Tests.Onnx;

namespace Mesh.Guard.Tests;

/// <summary>A ner rule is checked when the policy loads: every problem is a file:line:column error.</summary>
public sealed class NerPolicyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("guard-ner-policy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("", "model: model.onnx", 4, "needs 'model'")]
    [InlineData("model: model.onnx", "model: missing.onnx", 6, "does not exist")]
    [InlineData("vocab: vocab.txt", "vocab: nowhere.txt", 7, "does not exist")]
    [InlineData("labels: [O, B-PER", "labels: [O, X-PER", 8, "not in the BIO scheme")]
    [InlineData("labels: [O, B-PER, I-PER, B-LOC, I-LOC, B-ORG, I-ORG, B-MISC, I-MISC]", "labels: [O, B-PER, I-PER]", 8, "the model outputs 9 labels but 'labels' lists 3")]
    [InlineData("min_score: 0.5", "min_score: 1.5", 9, "'min_score' must be a number in [0, 1]")]
    [InlineData("window_overlap: 2", "window_overlap: 6", 11, "'window_overlap' must be a whole number in [0, 5]")]
    [InlineData("entity_map: { PER: PERSON }", "entity_map: { PER: HUMAN }", 12, "unknown entity 'HUMAN'")]
    [InlineData("entity_map: { PER: PERSON }", "entity_map: { FOO: PERSON }", 12, "type 'FOO', which no label has")]
    public void A_bad_ner_rule_is_refused_at_the_line_that_is_wrong(string from, string to, int line, string problem)
    {
        TinyNerModel.Write(_dir);
        // An empty "from" removes the line "to" names.
        var policy = from.Length == 0
            ? Policy().Replace($"        {to}\n", "", StringComparison.Ordinal)
            : Policy().Replace(from, to, StringComparison.Ordinal);
        var e = Assert.Throws<PolicyFileException>(() => Parse(policy));
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.Equal(line, e.Line);
    }

    [Fact]
    public void A_valid_rule_loads()
    {
        TinyNerModel.Write(_dir);
        var set = Parse(Policy());
        Assert.Equal("ner", set.Policies["default"].Rules.Single().DetectorKind);
    }

    [Fact]
    public void A_file_that_is_not_an_onnx_model_is_refused_with_onnx_runtimes_reason()
    {
        TinyNerModel.Write(_dir);
        File.WriteAllBytes(Path.Combine(_dir, "model.onnx"), [0x08, 0xff, 0xff, 0x01, 0x42, 0x13, 0x37]);
        var e = Assert.Throws<PolicyFileException>(() => Parse(Policy()));
        Assert.Contains("ONNX Runtime cannot load", e.Message, StringComparison.Ordinal);
        Assert.Equal(6, e.Line);
    }

    [Fact]
    public void A_vocabulary_without_bert_special_tokens_is_refused()
    {
        TinyNerModel.Write(_dir);
        File.WriteAllLines(Path.Combine(_dir, "vocab.txt"), TinyNerModel.Vocab.Where(t => t != "[CLS]"));
        var e = Assert.Throws<PolicyFileException>(() => Parse(Policy()));
        Assert.Contains("not a WordPiece vocab.txt", e.Message, StringComparison.Ordinal);
        Assert.Equal(6, e.Line);
    }

    [Fact]
    public void A_model_with_an_input_guard_cannot_feed_is_refused()
    {
        TinyNerModel.Write(_dir, withMask: true);
        var policy = Policy();
        // The same graph with attention_mask renamed: Guard would not know what to feed.
        var bytes = File.ReadAllBytes(Path.Combine(_dir, "model.onnx"));
        var model = ModelProto.Parser.ParseFrom(bytes);
        model.Graph.Input[1].Name = "pixel_values";
        File.WriteAllBytes(Path.Combine(_dir, "model.onnx"), Google.Protobuf.MessageExtensions.ToByteArray(model));
        var e = Assert.Throws<PolicyFileException>(() => Parse(policy));
        Assert.Contains("input 'pixel_values'", e.Message, StringComparison.Ordinal);
    }

    private static string Policy() => """
        policies:
          default:
            rules:
              - name: names
                detector: ner
                model: model.onnx
                vocab: vocab.txt
                labels: [O, B-PER, I-PER, B-LOC, I-LOC, B-ORG, I-ORG, B-MISC, I-MISC]
                min_score: 0.5
                max_sequence_length: 8
                window_overlap: 2
                entity_map: { PER: PERSON }
                action: redact

        """;

    private Mesh.Guard.Policies.PolicySet Parse(string policy) =>
        new PolicyParser(new ZeroEmbedder()).Parse(policy, Path.Combine(_dir, "p.yaml"), 1);
}
