using Grpc.Core;
using Mesh.Guard.V1;

namespace Mesh.Guard.Tests.Quality;

/// <summary>QualityService.ScoreAnswer over real gRPC to a real Guard host with the real MiniLM.</summary>
[Collection(GuardCollection.Name)]
public sealed class ScoreAnswerTests(DefaultPolicyServer server)
{
    private QualityService.QualityServiceClient Client => new(server.Server.Channel);

    [Fact]
    public async Task A_paraphrase_is_supported_an_invented_claim_is_listed_and_bad_citations_count()
    {
        var request = new ScoreAnswerRequest
        {
            Model = "m",
            Question = "How long does standard shipping take?",
            Answer = "Standard delivery takes three to five business days [1]. We deliver by drone within two hours in major cities [4].",
            ResponseSchemaJson = """{"type":"object"}""",
        };
        request.Sources.Add(new AnswerSource { Id = "faq-04", Text = "Q: How long does standard shipping take? A: Standard shipping takes 3 to 5 business days." });
        var scores = await Client.ScoreAnswerAsync(request);

        Assert.Equal(2, scores.Sentences);
        Assert.Equal(0.5f, scores.Groundedness);
        var unsupported = Assert.Single(scores.UnsupportedSentences);
        Assert.StartsWith("We deliver by drone", unsupported.Text, StringComparison.Ordinal);
        Assert.Equal("faq-04", unsupported.SourceId);
        Assert.Equal(2, scores.Citations);
        Assert.Equal(0.5f, scores.CitationValidity); // [4] names no source
        Assert.True(scores.AnswerRelevance > 0.3f, $"relevance {scores.AnswerRelevance}");
        Assert.False(scores.FormatValid); // prose is not a JSON object
        Assert.NotEmpty(scores.FormatErrors);
    }

    [Theory]
    [InlineData("model")]
    [InlineData("question")]
    [InlineData("response_schema_json")]
    public async Task Bad_input_is_INVALID_ARGUMENT_naming_the_field(string field)
    {
        var request = new ScoreAnswerRequest { Model = "m", Question = "Is shipping free?", Answer = "Yes it is free." };
        switch (field)
        {
            case "model": request.Model = ""; break;
            case "question": request.Question = " "; break;
            default: request.ResponseSchemaJson = "{not json"; break;
        }

        var e = await Assert.ThrowsAsync<RpcException>(() => Client.ScoreAnswerAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(field, e.Status.Detail, StringComparison.Ordinal);
    }
}
