using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mesh.Gateway.Tests.OpenAI;

/// <summary>
/// The OpenAI API's wire behaviour as curl and other HTTP clients see it: OpenAI's error body and
/// status codes, the server-sent event stream, <c>n</c> choices and the model list.
/// </summary>
public sealed class OpenAIHttpTests(OpenAIFixture mesh) : IClassFixture<OpenAIFixture>, IDisposable
{
    private readonly HttpClient _http = new();

    private async Task<HttpResponseMessage> PostAsync(string path, string key, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(mesh.Gateway.HttpAddress, path))
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await _http.SendAsync(request);
    }

    private static object Chat(string model = OpenAIFixture.Model, object? extra = null) => Merge(new Dictionary<string, object?>
    {
        ["model"] = model,
        ["messages"] = new[] { new { role = "user", content = "Hello there" } },
        ["max_tokens"] = 8,
        ["temperature"] = 0,
    }, extra);

    private static Dictionary<string, object?> Merge(Dictionary<string, object?> body, object? extra)
    {
        foreach (var property in extra?.GetType().GetProperties() ?? [])
        {
            body[property.Name] = property.GetValue(extra);
        }

        return body;
    }

    private static async Task<JsonObject> ErrorOf(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.AsObject();
        Assert.False(string.IsNullOrEmpty(error["message"]!.GetValue<string>()));
        Assert.False(string.IsNullOrEmpty(error["type"]!.GetValue<string>()));
        Assert.True(error.ContainsKey("param") && error.ContainsKey("code"));
        return error;
    }

    [Fact]
    public async Task An_unknown_key_is_401_in_OpenAI_shape()
    {
        using var response = await PostAsync("/v1/chat/completions", "wrong", Chat());

        var error = await ErrorOf(response, HttpStatusCode.Unauthorized);
        Assert.Equal("invalid_api_key", error["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_model_is_404_naming_the_model_param()
    {
        using var response = await PostAsync("/v1/chat/completions", mesh.Admin.Secret, Chat(model: "no-such-model"));

        var error = await ErrorOf(response, HttpStatusCode.NotFound);
        Assert.Equal("model_not_found", error["code"]!.GetValue<string>());
        Assert.Equal("model", error["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_model_the_key_may_not_use_is_refused_and_absent_from_its_model_list()
    {
        using var response = await PostAsync("/v1/chat/completions", mesh.Narrow.Secret, Chat());
        var error = await ErrorOf(response, HttpStatusCode.Forbidden);
        Assert.Contains("may not use model 'stories260K'", error["message"]!.GetValue<string>(), StringComparison.Ordinal);

        using var list = new HttpRequestMessage(HttpMethod.Get, new Uri(mesh.Gateway.HttpAddress, "/v1/models"));
        list.Headers.Authorization = new AuthenticationHeaderValue("Bearer", mesh.Narrow.Secret);
        using var models = await _http.SendAsync(list);
        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        Assert.Empty(JsonNode.Parse(await models.Content.ReadAsStringAsync())!["data"]!.AsArray());
    }

    [Theory]
    [InlineData("temperature", 3.0)]
    [InlineData("top_p", 0.0)]
    [InlineData("n", 0)]
    [InlineData("max_tokens", 0)]
    [InlineData("top_logprobs", 21)]
    public async Task A_bad_parameter_is_400_naming_it(string param, double value)
    {
        using var response = await PostAsync("/v1/chat/completions", mesh.Admin.Secret,
            Merge((Dictionary<string, object?>)Chat(), null).Also(b => b[param] = value));

        var error = await ErrorOf(response, HttpStatusCode.BadRequest);
        Assert.Equal(param, error["param"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_schema_Inference_cannot_compile_is_400_naming_response_format_and_the_keyword()
    {
        using var response = await PostAsync("/v1/chat/completions", mesh.Admin.Secret,
            Chat(extra: new { response_format = new { type = "json_schema", json_schema = new { name = "x", schema = new { type = "object", minProperties = 1 } } } }));

        var error = await ErrorOf(response, HttpStatusCode.BadRequest);
        Assert.Equal("response_format", error["param"]!.GetValue<string>());
        Assert.Equal("invalid_request_error", error["type"]!.GetValue<string>());
        Assert.Contains("minProperties", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"type":"json_schema"}""", "response_format.json_schema.schema")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"x","schema":"not a schema"}}""", "response_format.json_schema.schema")]
    [InlineData("""{"type":"xml"}""", "response_format.type")]
    [InlineData("\"json\"", "response_format")]
    public async Task A_malformed_response_format_is_400_naming_the_field(string format, string param)
    {
        using var response = await PostAsync("/v1/chat/completions", mesh.Admin.Secret,
            Merge((Dictionary<string, object?>)Chat(), null).Also(b => b["response_format"] = JsonNode.Parse(format)));

        var error = await ErrorOf(response, HttpStatusCode.BadRequest);
        Assert.Equal(param, error["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task Json_object_response_format_streams_a_json_object()
    {
        using var response = await PostAsync("/v1/chat/completions", mesh.Admin.Secret,
            Chat(extra: new { response_format = new { type = "json_object" }, stream = true, max_tokens = 120, seed = 3 }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = new System.Text.StringBuilder();
        string? finish = null;
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal))
            {
                continue;
            }

            var choice = JsonNode.Parse(line["data: ".Length..])!["choices"]!.AsArray().FirstOrDefault();
            text.Append(choice?["delta"]?["content"]?.GetValue<string>());
            finish = choice?["finish_reason"]?.GetValue<string>() ?? finish;
        }

        if (finish == "stop")
        {
            Assert.Equal(System.Text.Json.JsonValueKind.Object, System.Text.Json.JsonDocument.Parse(text.ToString()).RootElement.ValueKind);
        }
        else
        {
            Assert.Equal("length", finish);
            Assert.StartsWith("{", text.ToString().TrimStart(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_prompt_too_long_for_the_context_is_400_with_the_services_message()
    {
        using var response = await PostAsync("/v1/chat/completions", mesh.Admin.Secret,
            Chat().Also(b => b["max_tokens"] = 1_000_000));

        var error = await ErrorOf(response, HttpStatusCode.BadRequest);
        Assert.Contains("max_tokens", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_generated_tokens_limit_is_429_with_retry_after()
    {
        // The key may generate 10 tokens a minute: the first call spends them, the next is refused.
        using (var first = await PostAsync("/v1/chat/completions", mesh.FewTokens.Secret, Chat().Also(b => b["max_tokens"] = 16)))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using var refused = await PostAsync("/v1/chat/completions", mesh.FewTokens.Secret, Chat(extra: new { stream = true }));

        var error = await ErrorOf(refused, HttpStatusCode.TooManyRequests);
        Assert.Equal("rate_limit_exceeded", error["code"]!.GetValue<string>());
        Assert.Contains("10 generated tokens per minute", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        var retryAfter = int.Parse(refused.Headers.GetValues("retry-after").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 60);
    }

    [Fact]
    public async Task A_stream_is_server_sent_events_ending_with_usage_and_done()
    {
        using var response = await PostAsync("/v1/chat/completions", mesh.Admin.Secret,
            Chat(extra: new { stream = true, stream_options = new { include_usage = true }, n = 2 }));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = (await response.Content.ReadAsStringAsync())
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.StartsWith("data: ", StringComparison.Ordinal) ? e["data: ".Length..] : throw new Xunit.Sdk.XunitException($"Not an SSE data line: {e}"))
            .ToList();
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!.AsObject()).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c["object"]!.GetValue<string>()));

        // Each choice opens with the assistant role and ends with a finish reason.
        var choices = chunks.SelectMany(c => c["choices"]!.AsArray()).Select(c => c!.AsObject()).ToList();
        foreach (var index in new[] { 0, 1 })
        {
            var mine = choices.Where(c => c["index"]!.GetValue<int>() == index).ToList();
            Assert.Equal("assistant", mine[0]["delta"]!["role"]!.GetValue<string>());
            Assert.NotNull(mine[^1]["finish_reason"]);
        }

        // Usage comes last, with no choices: both choices' 8 tokens.
        var usage = chunks[^1];
        Assert.Empty(usage["choices"]!.AsArray());
        Assert.Equal(16, usage["usage"]!["completion_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task N_choices_with_a_seed_each_draw_differently_and_repeat()
    {
        object body = Chat(extra: new { n = 2, seed = 7, temperature = 1, max_tokens = 16 });
        var first = JsonNode.Parse(await (await PostAsync("/v1/chat/completions", mesh.Admin.Secret, body)).Content.ReadAsStringAsync())!;
        var second = JsonNode.Parse(await (await PostAsync("/v1/chat/completions", mesh.Admin.Secret, body)).Content.ReadAsStringAsync())!;

        var texts = first["choices"]!.AsArray().Select(c => c!["message"]!["content"]!.GetValue<string>()).ToList();
        Assert.Equal(2, texts.Count);
        Assert.NotEqual(texts[0], texts[1]);
        Assert.Equal(texts, second["choices"]!.AsArray().Select(c => c!["message"]!["content"]!.GetValue<string>()));
        Assert.Equal("chat.completion", first["object"]!.GetValue<string>());
    }

    [Fact]
    public async Task Models_lists_what_Inference_serves()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(mesh.Gateway.HttpAddress, "/v1/models"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", mesh.Admin.Secret);
        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var data = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["data"]!.AsArray();
        Assert.Equal(OpenAIFixture.Model, Assert.Single(data)!["id"]!.GetValue<string>());
    }

    public void Dispose() => _http.Dispose();
}

internal static class DictionaryExtensions
{
    public static Dictionary<string, object?> Also(this object body, Action<Dictionary<string, object?>> change)
    {
        var dictionary = (Dictionary<string, object?>)body;
        change(dictionary);
        return dictionary;
    }
}
