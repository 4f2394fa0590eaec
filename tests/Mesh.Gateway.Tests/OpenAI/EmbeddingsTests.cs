using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Mesh.Gateway.Tests.Infrastructure;
using Mesh.Retrieval;
using Mesh.Retrieval.V1;
using OpenAI;
using OpenAI.Embeddings;

namespace Mesh.Gateway.Tests.OpenAI;

/// <summary>A real Retrieval host behind a real gateway, for <c>POST /v1/embeddings</c>.</summary>
public sealed class EmbeddingsFixture : IAsyncLifetime
{
    public const string Model = "all-MiniLM-L6-v2";

    public TestKey Admin { get; } = new("embed-admin", "acme", ["*"], ["*"]);

    /// <summary>May use only a chat model, not the embedder.</summary>
    public TestKey ChatOnly { get; } = new("embed-chat-only", "globex", ["stories260K"], ["*"]);

    public ServiceReplica Retrieval { get; private set; } = null!;
    public GatewayUnderTest Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Retrieval = await ServiceReplica.StartAsync(RetrievalHost.CreateApp, 0, MeshFixture.RetrievalArgs());
        Gateway = await GatewayUnderTest.StartAsync(new Dictionary<string, IReadOnlyList<Uri>> { ["retrieval"] = [Retrieval.Address] }, [Admin, ChatOnly]);
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Retrieval.DisposeAsync();
    }
}

/// <summary>
/// The official OpenAI .NET SDK's <see cref="EmbeddingClient"/>, pointed at the gateway, gets the vectors the
/// gRPC Embed RPC gives for the same texts; errors arrive in OpenAI's shape.
/// </summary>
public sealed class EmbeddingsTests(EmbeddingsFixture mesh) : IClassFixture<EmbeddingsFixture>
{
    private static readonly string[] Texts = ["Which trail running shoes do you have?", "Returns are free within 30 days."];
    private readonly HttpClient _http = new();

    private EmbeddingClient SdkClient(string key) =>
        new OpenAIClient(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(mesh.Gateway.HttpAddress, "/v1") })
            .GetEmbeddingClient(EmbeddingsFixture.Model);

    private async Task<EmbedResponse> GrpcEmbedAsync() =>
        await new RetrievalService.RetrievalServiceClient(mesh.Gateway.Channel)
            .EmbedAsync(new EmbedRequest { Model = EmbeddingsFixture.Model, Texts = { Texts } }, mesh.Admin.Metadata);

    [Fact]
    public async Task The_OpenAI_SDK_gets_the_vectors_of_the_gRPC_Embed_RPC()
    {
        var expected = await GrpcEmbedAsync();
        var result = await SdkClient(mesh.Admin.Secret).GenerateEmbeddingsAsync(Texts);
        Assert.Equal(2, result.Value.Count);
        for (var i = 0; i < Texts.Length; i++)
        {
            Assert.Equal(i, result.Value[i].Index);
            Assert.Equal(expected.Vectors[i].Values.ToArray(), result.Value[i].ToFloats().ToArray());
        }

        Assert.Equal((int)expected.PromptTokens, result.Value.Usage.InputTokenCount);
        Assert.Equal(EmbeddingsFixture.Model, result.Value.Model);

        var single = await SdkClient(mesh.Admin.Secret).GenerateEmbeddingAsync(Texts[1]);
        Assert.Equal(expected.Vectors[1].Values.ToArray(), single.Value.ToFloats().ToArray());
    }

    [Fact]
    public async Task Float_and_base64_encodings_carry_the_same_vector()
    {
        var expected = (await GrpcEmbedAsync()).Vectors[0].Values.ToArray();
        using var asFloats = await PostAsync(mesh.Admin.Secret, new { model = EmbeddingsFixture.Model, input = Texts[0], encoding_format = "float" });
        Assert.Equal(HttpStatusCode.OK, asFloats.StatusCode);
        using var floats = JsonDocument.Parse(await asFloats.Content.ReadAsStringAsync());
        Assert.Equal("list", floats.RootElement.GetProperty("object").GetString());
        var data = floats.RootElement.GetProperty("data")[0];
        Assert.Equal("embedding", data.GetProperty("object").GetString());
        Assert.Equal(expected, data.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray());
        Assert.True(floats.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 2);

        using var asBase64 = await PostAsync(mesh.Admin.Secret, new { model = EmbeddingsFixture.Model, input = new[] { Texts[0] }, encoding_format = "base64" });
        using var encoded = JsonDocument.Parse(await asBase64.Content.ReadAsStringAsync());
        var bytes = Convert.FromBase64String(encoded.RootElement.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        Assert.Equal(expected, MemoryMarshal.Cast<byte, float>(bytes).ToArray());
    }

    [Theory]
    [InlineData("bad-key", "{\"model\":\"all-MiniLM-L6-v2\",\"input\":\"x\"}", 401, null)]
    [InlineData("chat-only", "{\"model\":\"all-MiniLM-L6-v2\",\"input\":\"x\"}", 403, null)]
    [InlineData("admin", "{\"model\":\"all-MiniLM-L6-v2\",\"input\":[1,2,3]}", 400, "input")]
    [InlineData("admin", "{\"model\":\"all-MiniLM-L6-v2\",\"input\":[]}", 400, "input")]
    [InlineData("admin", "{\"input\":\"x\"}", 400, "model")]
    [InlineData("admin", "{\"model\":\"all-MiniLM-L6-v2\",\"input\":\"x\",\"encoding_format\":\"int8\"}", 400, "encoding_format")]
    [InlineData("admin", "{\"model\":\"all-MiniLM-L6-v2\",\"input\":\"x\",\"dimensions\":256}", 400, "dimensions")]
    [InlineData("admin", "{\"model\":\"all-MiniLM-L6-v2\",\"input\":\"\"}", 400, null)]
    [InlineData("admin", "{\"model\":\"text-embedding-3-small\",\"input\":\"x\"}", 400, null)]
    public async Task Bad_requests_get_OpenAI_errors(string key, string body, int status, string? param)
    {
        var secret = key switch { "admin" => mesh.Admin.Secret, "chat-only" => mesh.ChatOnly.Secret, _ => "not-a-key" };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(mesh.Gateway.HttpAddress, "/v1/embeddings"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await _http.SendAsync(request);
        Assert.Equal(status, (int)response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var detail = error.RootElement.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(detail.GetProperty("message").GetString()));
        if (param is not null)
        {
            Assert.Equal(param, detail.GetProperty("param").GetString());
        }
    }

    private async Task<HttpResponseMessage> PostAsync(string key, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(mesh.Gateway.HttpAddress, "/v1/embeddings"))
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await _http.SendAsync(request);
    }
}
