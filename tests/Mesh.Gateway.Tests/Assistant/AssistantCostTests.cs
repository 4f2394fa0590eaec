using Grpc.Core;
using Mesh.Assistant.V1;
using Mesh.Gateway.Tests.Infrastructure;
using Mesh.Guard.V1;
using Mesh.Inference.V1;
using Microsoft.Extensions.Options;
using ChatMessage = Mesh.Assistant.V1.ChatMessage;
using Role = Mesh.Assistant.V1.Role;

namespace Mesh.Gateway.Tests.Assistant;

/// <summary>
/// The pipeline's per-answer work, kept small without changing answers: a repeated conversation is not
/// tokenized again, answer scoring can be sampled (exactly the configured share of exchanges), and a
/// scored answer's schema errors come from scoring's validation instead of a second ValidateJson call.
/// Real hosts behind a real gateway, as the other assistant tests.
/// </summary>
[Collection(AssistantCollection.Name)]
public sealed class AssistantCostTests(AssistantFixture mesh)
{
    [Fact]
    public async Task A_repeated_question_is_not_tokenized_again_and_reaches_the_model_unchanged()
    {
        var question = $"Which shoes are good for trail running? ({Guid.NewGuid():N})";
        var before = mesh.TokenizeCalls;
        await AskAsync(mesh.Gateway, Question(question));
        var once = mesh.TokenizeCalls;
        var firstChat = mesh.Chats.Last();
        await AskAsync(mesh.Gateway, Question(question));
        var secondChat = mesh.Chats.Last();

        Assert.True(once > before, "the first ask fits its prompt with Tokenize");
        Assert.Equal(once, mesh.TokenizeCalls);
        Assert.Equal(firstChat.Messages, secondChat.Messages);

        // Another conversation is counted afresh.
        await AskAsync(mesh.Gateway, Question(question + " Thanks!"));
        Assert.True(mesh.TokenizeCalls > once);
    }

    [Fact]
    public async Task A_sample_rate_of_one_half_scores_every_second_exchange_and_records_only_those_for_drift()
    {
        await using var gateway = await GatewayUnderTest.StartAsync(Clusters(), [mesh.Key], "--Gateway:Assistant:ScoreSampleRate=0.5");
        var quality = new QualityService.QualityServiceClient(gateway.Channel);
        var observed = await ObservedAsync(quality);

        var scored = new List<bool>();
        foreach (var text in new[] { "Is shipping free?", "Which tent is the lightest?", "Can I return worn shoes?", "Do you sell hiking boots?" })
        {
            scored.Add((await AskAsync(gateway, Question(text)))[^1].Done.Scores is not null);
        }

        Assert.Equal([false, true, false, true], scored);
        Assert.Equal(observed + 2, await ObservedAsync(quality));
    }

    [Fact]
    public async Task Schema_errors_are_the_same_whether_the_answer_was_scored_or_not()
    {
        // One token cannot complete "yes" or "no": the cut-off answer breaks the schema.
        var request = Question("Is the Trailrunner shoe in stock?");
        request.ResponseSchemaJson = """{"enum":["yes","no"]}""";
        request.MaxTokens = 1;
        await using var unscored = await GatewayUnderTest.StartAsync(Clusters(), [mesh.Key], "--Gateway:Assistant:ScoreSampleRate=0");

        var scored = (await AskAsync(mesh.Gateway, request))[^1].Done;
        var validated = (await AskAsync(unscored, request))[^1].Done;

        Assert.True(scored.Scores.HasFormatValid);
        Assert.Null(validated.Scores);
        Assert.NotEmpty(scored.SchemaErrors);
        Assert.Equal(scored.SchemaErrors, validated.SchemaErrors);
    }

    [Fact]
    public async Task A_sample_rate_outside_zero_to_one_stops_the_gateway_naming_the_setting()
    {
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            GatewayUnderTest.StartAsync(Clusters(), [mesh.Key], "--Gateway:Assistant:ScoreSampleRate=1.5"));
        Assert.Contains("Gateway:Assistant:ScoreSampleRate", e.Message, StringComparison.Ordinal);
    }

    private Dictionary<string, IReadOnlyList<Uri>> Clusters() => new()
    {
        ["inference"] = [mesh.Inference.Address],
        ["retrieval"] = [mesh.Retrieval.Address],
        ["guard"] = [mesh.Guard.Address],
    };

    private async Task<long> ObservedAsync(QualityService.QualityServiceClient quality)
    {
        var report = await quality.GetDriftReportAsync(new GetDriftReportRequest { Model = AssistantFixture.Model }, mesh.Key.Metadata);
        return report.Series.Where(s => s.Tenant == "retail").Sum(s => s.Observed);
    }

    private static AskRequest Question(string text) => new()
    {
        Model = AssistantFixture.Model,
        Collection = AssistantFixture.Collection,
        Messages = { new ChatMessage { Role = Role.User, Content = text } },
        MaxTokens = 8,
        Sampling = new SamplingParams { Temperature = 0, Seed = 1 },
    };

    private async Task<List<AskResponse>> AskAsync(GatewayUnderTest gateway, AskRequest request)
    {
        using var call = new AssistantService.AssistantServiceClient(gateway.Channel).Ask(request, mesh.Key.Metadata, DateTime.UtcNow.AddMinutes(1));
        var events = new List<AskResponse>();
        await foreach (var e in call.ResponseStream.ReadAllAsync())
        {
            events.Add(e);
        }

        return events;
    }
}
