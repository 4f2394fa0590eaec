using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Mesh.Assistant.V1;

namespace Mesh.Demo;

/// <summary>
/// The assistant through the gateway's OpenAI API: one streamed <c>POST /v1/chat/completions</c> with
/// Mesh's <c>"mesh": {"assistant": {...}}</c> extension, its server-sent events turned back into the
/// assistant's events: <c>mesh.context</c>, <c>mesh.done</c> and <c>mesh.blocked</c> are the gRPC
/// messages in proto3 JSON, the deltas are the chunks' <c>content</c>.
/// </summary>
internal static class HttpAsk
{
    public static async IAsyncEnumerable<AskResponse> StreamAsync(Options options, AskRequest ask, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var assistant = new JsonObject
        {
            ["collection"] = ask.Collection,
            ["top_k"] = ask.TopK,
        };
        if (ask.Filter is not null)
        {
            assistant["filter"] = JsonNode.Parse(JsonFormatter.Default.Format(ask.Filter));
        }

        if (ask.Policy.Length > 0)
        {
            assistant["policy"] = ask.Policy;
        }

        var body = new JsonObject
        {
            ["model"] = ask.Model,
            ["messages"] = new JsonArray(ask.Messages.Select(m => (JsonNode)new JsonObject
            {
                ["role"] = m.Role switch { Role.System => "system", Role.User => "user", _ => "assistant" },
                ["content"] = m.Content,
            }).ToArray()),
            ["max_tokens"] = ask.MaxTokens,
            ["temperature"] = ask.Sampling.Temperature,
            ["seed"] = (long)ask.Sampling.Seed,
            ["stream"] = true,
            ["mesh"] = new JsonObject { ["assistant"] = assistant },
        };

        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{options.HttpGateway.TrimEnd('/')}/v1/chat/completions")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        if (!response.IsSuccessStatusCode)
        {
            var error = await response.Content.ReadAsStringAsync(ct);
            var message = JsonNode.Parse(error)?["error"]?["message"]?.GetValue<string>() ?? error;
            throw new HttpRequestException($"HTTP {(int)response.StatusCode}: {message}", null, response.StatusCode);
        }

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal))
            {
                continue;
            }

            var chunk = JsonNode.Parse(line["data: ".Length..])!;
            if (chunk["error"]?["message"]?.GetValue<string>() is { } failure)
            {
                throw new HttpRequestException($"the stream ended with an error: {failure}");
            }

            if (chunk["mesh"]?["context"] is { } context)
            {
                yield return new AskResponse { Context = JsonParser.Default.Parse<RetrievedContext>(context.ToJsonString()) };
            }

            foreach (var choice in chunk["choices"]?.AsArray() ?? [])
            {
                // A blocked question's answer is the policy's message: printed with the block below.
                if (choice?["finish_reason"]?.GetValue<string>() != "content_filter"
                    && choice?["delta"]?["content"]?.GetValue<string>() is { Length: > 0 } text)
                {
                    yield return new AskResponse { Delta = text };
                }
            }

            if (chunk["mesh"]?["blocked"] is { } blocked)
            {
                yield return new AskResponse { Blocked = JsonParser.Default.Parse<Blocked>(blocked.ToJsonString()) };
            }

            if (chunk["mesh"]?["done"] is { } done)
            {
                yield return new AskResponse { Done = JsonParser.Default.Parse<Done>(done.ToJsonString()) };
            }
        }
    }
}
