using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using InferenceV1 = Mesh.Inference.V1;

namespace Mesh.Gateway.Tests.OpenAI;

/// <summary><c>POST /v1/completions</c> answers what the gRPC Complete API answers for the same prompt and seed.</summary>
public sealed class CompletionsTests(OpenAIFixture mesh) : IClassFixture<OpenAIFixture>, IDisposable
{
    private readonly HttpClient _http = new();

    [Fact]
    public async Task A_completion_equals_the_gRPC_Complete_answer_for_the_same_seed()
    {
        var client = new InferenceV1.InferenceService.InferenceServiceClient(mesh.Gateway.Channel);
        var expected = await client.CompleteAsync(new InferenceV1.GenerateRequest
        {
            Model = OpenAIFixture.Model,
            Prompt = "Once upon a time",
            MaxTokens = 20,
            Sampling = new InferenceV1.SamplingParams { Temperature = 1, Seed = 99 },
        }, mesh.Admin.Metadata);

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(mesh.Gateway.HttpAddress, "/v1/completions"))
        {
            Content = JsonContent.Create(new { model = OpenAIFixture.Model, prompt = "Once upon a time", max_tokens = 20, temperature = 1, seed = 99, logprobs = 2 }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", mesh.Admin.Secret);
        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var choice = Assert.Single(body["choices"]!.AsArray())!;
        Assert.Equal(expected.Text, choice["text"]!.GetValue<string>());
        Assert.Equal(expected.TokenIds.Count, choice["logprobs"]!["tokens"]!.AsArray().Count);
        Assert.Equal(expected.Usage.CompletionTokens, body["usage"]!["completion_tokens"]!.GetValue<int>());
        Assert.Equal("text_completion", body["object"]!.GetValue<string>());
    }

    [Fact]
    public async Task Response_format_json_schema_constrains_the_completion()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(mesh.Gateway.HttpAddress, "/v1/completions"))
        {
            Content = JsonContent.Create(new
            {
                model = OpenAIFixture.Model, prompt = "Once upon a time", max_tokens = 200, temperature = 1, seed = 5,
                response_format = new
                {
                    type = "json_schema",
                    json_schema = new { name = "pet", schema = new { type = "object", properties = new { name = new { type = "string", maxLength = 8 } }, required = new[] { "name" }, additionalProperties = false } },
                },
            }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", mesh.Admin.Secret);
        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var choice = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["choices"]![0]!;
        Assert.Equal("stop", choice["finish_reason"]!.GetValue<string>());
        var value = JsonNode.Parse(choice["text"]!.GetValue<string>())!.AsObject();
        Assert.Equal(["name"], value.Select(p => p.Key));
    }

    public void Dispose() => _http.Dispose();
}
