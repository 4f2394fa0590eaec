#pragma warning disable OPENAI001 // ChatCompletionOptions.Seed is marked experimental by the SDK.
using System.ClientModel;
using System.Text;
using Grpc.Core;
using Mesh.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using InferenceV1 = Mesh.Inference.V1;

namespace Mesh.Gateway.Tests.OpenAI;

/// <summary>
/// The official OpenAI .NET SDK and Microsoft.Extensions.AI's <see cref="IChatClient"/> over it, pointed
/// at the gateway, get what the gRPC Chat API gives for the same conversation and seed.
/// </summary>
public sealed class ChatCompletionsSdkTests(OpenAIFixture mesh) : IClassFixture<OpenAIFixture>
{
    private const string Question = "Tell me a story about a cat.";
    private const int MaxTokens = 24;
    private const long Seed = 1234;

    private ChatClient SdkClient(string key) =>
        new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = mesh.OpenAIEndpoint })
            .GetChatClient(OpenAIFixture.Model);

    /// <summary>The reference: the gRPC Chat API through the same gateway.</summary>
    private async Task<(string Text, List<int> Tokens, List<string> Pieces)> GrpcChatAsync(long seed, int topLogprobs = 0)
    {
        var client = new InferenceV1.InferenceService.InferenceServiceClient(mesh.Gateway.Channel);
        var request = new InferenceV1.ChatRequest
        {
            Model = OpenAIFixture.Model,
            MaxTokens = MaxTokens,
            Sampling = new InferenceV1.SamplingParams { Temperature = 1, Seed = (ulong)seed },
            TopLogprobs = topLogprobs,
        };
        request.Messages.Add(new InferenceV1.ChatMessage { Role = "user", Content = Question });
        var text = new StringBuilder();
        var tokens = new List<int>();
        var pieces = new List<string>();
        using var call = client.Chat(request, mesh.Admin.Metadata);
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            text.Append(message.Text);
            tokens.AddRange(message.TokenIds);
            pieces.AddRange(message.Logprobs.Select(l => l.Token));
        }

        return (text.ToString(), tokens, pieces);
    }

    [Fact]
    public async Task The_OpenAI_SDK_streams_the_same_tokens_as_the_gRPC_Chat_API_for_the_same_seed()
    {
        var expected = await GrpcChatAsync(Seed);
        Assert.NotEmpty(expected.Text);

        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        global::OpenAI.Chat.ChatFinishReason? finish = null;
        var options = new ChatCompletionOptions { Seed = Seed, Temperature = 1, MaxOutputTokenCount = MaxTokens };
        await foreach (var update in SdkClient(mesh.Admin.Secret).CompleteChatStreamingAsync([new UserChatMessage(Question)], options))
        {
            text.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
            usage = update.Usage ?? usage;
            finish = update.FinishReason ?? finish;
        }

        Assert.Equal(expected.Text, text.ToString());
        Assert.NotNull(usage);
        Assert.Equal(expected.Tokens.Count, usage.OutputTokenCount);
        Assert.True(usage.InputTokenCount > 0);
        Assert.NotNull(finish);
    }

    [Fact]
    public async Task A_non_streamed_SDK_completion_has_the_gRPC_tokens_and_their_logprobs()
    {
        var expected = await GrpcChatAsync(Seed + 1, topLogprobs: 2);

        var options = new ChatCompletionOptions
        {
            Seed = Seed + 1, Temperature = 1, MaxOutputTokenCount = MaxTokens, IncludeLogProbabilities = true, TopLogProbabilityCount = 2,
        };
        ChatCompletion completion = await SdkClient(mesh.Admin.Secret).CompleteChatAsync([new UserChatMessage(Question)], options);

        Assert.Equal(expected.Text, completion.Content[0].Text);
        Assert.Equal(expected.Pieces, completion.ContentTokenLogProbabilities.Select(l => l.Token));
        Assert.All(completion.ContentTokenLogProbabilities, l =>
        {
            Assert.Equal(2, l.TopLogProbabilities.Count);
            Assert.True(l.LogProbability <= 0);
        });
        Assert.Equal(expected.Tokens.Count, completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task IChatClient_over_the_SDK_streams_the_same_text_as_the_gRPC_Chat_API()
    {
        var expected = await GrpcChatAsync(Seed + 2);
        IChatClient chat = SdkClient(mesh.Admin.Secret).AsIChatClient();

        var text = new StringBuilder();
        await foreach (var update in chat.GetStreamingResponseAsync(
            [new Microsoft.Extensions.AI.ChatMessage(ChatRole.User, Question)],
            new ChatOptions { Seed = Seed + 2, Temperature = 1, MaxOutputTokens = MaxTokens }))
        {
            text.Append(update.Text);
        }

        Assert.Equal(expected.Text, text.ToString());
    }

    [Fact]
    public async Task A_json_schema_response_format_gives_JSON_that_parses_and_validates_against_the_schema()
    {
        const string schema = """
            {"type":"object","properties":{"product":{"type":"string","maxLength":12},"in_stock":{"type":"boolean"},"rating":{"type":"integer","minimum":1,"maximum":5}},
             "required":["product","in_stock","rating"],"additionalProperties":false}
            """;
        var validator = Json.Schema.JsonSchema.FromText(schema);
        for (var seed = Seed; seed < Seed + 3; seed++)
        {
            var options = new ChatCompletionOptions
            {
                Seed = seed, Temperature = 1, MaxOutputTokenCount = 200,
                ResponseFormat = global::OpenAI.Chat.ChatResponseFormat.CreateJsonSchemaFormat("product", BinaryData.FromString(schema), jsonSchemaIsStrict: true),
            };
            ChatCompletion completion = await SdkClient(mesh.Admin.Secret).CompleteChatAsync([new UserChatMessage("Describe a product.")], options);

            Assert.Equal(global::OpenAI.Chat.ChatFinishReason.Stop, completion.FinishReason);
            using var answer = System.Text.Json.JsonDocument.Parse(completion.Content[0].Text);
            var result = validator.Evaluate(answer.RootElement);
            Assert.True(result.IsValid, completion.Content[0].Text);
            Assert.InRange(answer.RootElement.GetProperty("rating").GetInt32(), 1, 5);
        }
    }

    [Fact]
    public async Task A_bad_key_is_a_401_the_SDK_reports()
    {
        var ex = await Assert.ThrowsAsync<ClientResultException>(() =>
            SdkClient("not-a-key").CompleteChatAsync([new UserChatMessage(Question)]));

        Assert.Equal(401, ex.Status);
    }
}
