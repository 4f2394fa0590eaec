using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Grpc.Core;
using Mesh.Retrieval.V1;

namespace Mesh.Gateway.OpenAI;

/// <summary>
/// <c>POST /v1/embeddings</c> over Retrieval's Embed RPC (the built-in all-MiniLM-L6-v2, 384 dimensions,
/// unit length), through the gateway's own gRPC endpoint (<see cref="GatewayLoopback"/>) so the key, its
/// model permissions (<c>model</c> names the embedder) and its limits apply as to any gRPC call.
/// OpenAI's shape: <c>input</c> a string or an array of strings (token arrays are 400), <c>encoding_format</c>
/// <c>float</c> (default) or <c>base64</c> (the little-endian float32 bytes, as OpenAI sends them),
/// <c>dimensions</c> only the model's own; <c>usage.prompt_tokens</c> counts the embedder's WordPiece
/// tokens. Limits (1..256 inputs, each 1..8192 characters) are Retrieval's, answered as 400 naming them.
/// </summary>
public static class EmbeddingsEndpoint
{
    /// <summary>Handles one <c>POST /v1/embeddings</c>.</summary>
    public static async Task HandleAsync(HttpContext context, GatewayLoopback loopback)
    {
        EmbeddingRequest request;
        EmbedRequest embed;
        bool base64;
        try
        {
            request = await OpenAIRequests.ReadAsync(context, EmbeddingsJsonContext.Default.EmbeddingRequest);
            embed = new EmbedRequest { Model = string.IsNullOrEmpty(request.Model) ? throw new OpenAIRequestException("model", "'model' is required: \"all-MiniLM-L6-v2\".") : request.Model };
            embed.Texts.Add(Inputs(request.Input));
            base64 = request.EncodingFormat switch
            {
                null or "float" => false,
                "base64" => true,
                _ => throw new OpenAIRequestException("encoding_format", $"'encoding_format' must be \"float\" or \"base64\"; got \"{request.EncodingFormat}\"."),
            };
        }
        catch (OpenAIRequestException ex)
        {
            await OpenAIErrors.WriteAsync(context, ex);
            return;
        }

        EmbedResponse response;
        try
        {
            response = await new RetrievalService.RetrievalServiceClient(loopback.Invoker)
                .EmbedAsync(embed, GatewayLoopback.MetadataFor(context), cancellationToken: context.RequestAborted);
        }
        catch (RpcException ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            await OpenAIErrors.WriteAsync(context, ex);
            return;
        }

        if (request.Dimensions is { } dimensions && response.Vectors.Count > 0 && dimensions != response.Vectors[0].Values.Count)
        {
            await OpenAIErrors.WriteAsync(context, new OpenAIRequestException("dimensions",
                $"{response.Model} produces {response.Vectors[0].Values.Count} dimensions and cannot shorten them; leave 'dimensions' unset or send {response.Vectors[0].Values.Count}."));
            return;
        }

        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("object", "list");
        json.WriteStartArray("data");
        for (var i = 0; i < response.Vectors.Count; i++)
        {
            json.WriteStartObject();
            json.WriteString("object", "embedding");
            json.WriteNumber("index", i);
            var values = response.Vectors[i].Values;
            if (base64)
            {
                var floats = values.ToArray();
                json.WriteBase64String("embedding", MemoryMarshal.AsBytes(floats.AsSpan())); // x64/arm64: little-endian, as OpenAI's
            }
            else
            {
                json.WriteStartArray("embedding");
                foreach (var value in values)
                {
                    json.WriteNumberValue(value);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteString("model", response.Model);
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", response.PromptTokens);
        json.WriteNumber("total_tokens", response.PromptTokens);
        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }

    // OpenAI's input: a string, or an array of strings. Token-id arrays need OpenAI's tokenizer: refused.
    private static IEnumerable<string> Inputs(JsonElement input)
    {
        switch (input.ValueKind)
        {
            case JsonValueKind.String:
                return [input.GetString()!];
            case JsonValueKind.Array:
                var texts = new List<string>();
                foreach (var item in input.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        throw new OpenAIRequestException("input", $"'input[{texts.Count}]' must be a string; arrays of token ids are not supported, send the text.");
                    }

                    texts.Add(item.GetString()!);
                }

                return texts.Count > 0 ? texts : throw new OpenAIRequestException("input", "'input' is an empty array; send 1 or more texts.");
            default:
                throw new OpenAIRequestException("input", "'input' is required: a string or an array of strings.");
        }
    }
}

/// <summary>The body of <c>POST /v1/embeddings</c>, as OpenAI's API takes it.</summary>
public sealed record EmbeddingRequest(JsonElement Input, string? Model, string? EncodingFormat, int? Dimensions, string? User);

/// <summary>Source-generated reading of <see cref="EmbeddingRequest"/> (snake_case, no reflection).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(EmbeddingRequest))]
public sealed partial class EmbeddingsJsonContext : JsonSerializerContext;
