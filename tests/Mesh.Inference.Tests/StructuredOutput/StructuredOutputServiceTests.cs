using System.Text.Json;
using Grpc.Core;
using Mesh.Inference.V1;

namespace Mesh.Inference.Tests.StructuredOutput;

/// <summary>response_format over real gRPC on loopback, against the real Inference host serving stories260K.</summary>
public sealed class StructuredOutputServiceTests(InferenceServiceFixture service) : IClassFixture<InferenceServiceFixture>
{
    private const string Schema = """{"type":"object","properties":{"answer":{"enum":["yes","no"]},"score":{"type":"integer","minimum":1,"maximum":5}},"required":["answer","score"],"additionalProperties":false}""";

    private static GenerateRequest Request(ResponseFormat? format, ulong seed = 7, int maxTokens = 64) => new()
    {
        Model = "stories260K",
        Prompt = "Once upon a time",
        MaxTokens = maxTokens,
        Sampling = new SamplingParams { Temperature = 1, Seed = seed },
        ResponseFormat = format,
    };

    private static ResponseFormat JsonSchema(string schema) => new() { JsonSchema = new JsonSchemaFormat { Schema = schema } };

    [Fact]
    public async Task Json_schema_output_is_valid_json_of_the_schema_and_stops_when_complete()
    {
        for (var seed = 0UL; seed < 4; seed++)
        {
            var response = await service.Client.CompleteAsync(Request(JsonSchema(Schema), seed));
            Assert.Equal(V1.FinishReason.Stop, response.FinishReason);
            using var doc = JsonDocument.Parse(response.Text);
            Assert.Contains(doc.RootElement.GetProperty("answer").GetString(), new[] { "yes", "no" });
            Assert.InRange(doc.RootElement.GetProperty("score").GetInt32(), 1, 5);
        }
    }

    [Fact]
    public async Task Constrained_and_unconstrained_requests_share_a_batch_without_affecting_each_other()
    {
        var alone = await service.Client.CompleteAsync(Request(null, seed: 11, maxTokens: 40));
        var together = await Task.WhenAll(
            service.Client.CompleteAsync(Request(null, seed: 11, maxTokens: 40)).ResponseAsync,
            service.Client.CompleteAsync(Request(JsonSchema(Schema), seed: 1)).ResponseAsync,
            service.Client.CompleteAsync(Request(new ResponseFormat { Regex = "[a-z]{3}-[0-9]{2}" }, seed: 2)).ResponseAsync,
            service.Client.CompleteAsync(Request(new ResponseFormat { Choice = new ChoiceFormat { Choices = { "red", "green", "blue" } } }, seed: 3)).ResponseAsync);
        Assert.Equal(alone.TokenIds, together[0].TokenIds);
        JsonDocument.Parse(together[1].Text).Dispose();
        Assert.Matches("^[a-z]{3}-[0-9]{2}$", together[2].Text);
        Assert.Contains(together[3].Text, new[] { "red", "green", "blue" });
    }

    [Fact]
    public async Task A_gbnf_grammar_constrains_the_output()
    {
        var grammar = "root ::= \"The \" animal \" is \" (\"big\" | \"small\") \".\"\nanimal ::= \"cat\" | \"dog\"";
        var response = await service.Client.CompleteAsync(Request(new ResponseFormat { Grammar = grammar }));
        Assert.Matches("^The (cat|dog) is (big|small)\\.$", response.Text);
        Assert.Equal(V1.FinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task Max_tokens_cutting_a_value_short_says_length()
    {
        var response = await service.Client.CompleteAsync(Request(JsonSchema("""{"const":"a long constant value that takes many tokens"}"""), maxTokens: 3));
        Assert.Equal(V1.FinishReason.Length, response.FinishReason);
        Assert.StartsWith(response.Text, "\"a long constant value that takes many tokens\"");
    }

    [Theory]
    [InlineData("""{"type":"string","contentMediaType":"text/html"}""", "contentMediaType")]
    [InlineData("""{"type":"object","minProperties":1}""", "minProperties")]
    [InlineData("""{"type":"string","pattern":"(?<=a)b"}""", "lookaround")]
    [InlineData("not json", "not valid JSON")]
    public async Task Unsupported_schemas_are_refused_with_invalid_argument_naming_the_keyword(string schema, string named)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => service.Client.CompleteAsync(Request(JsonSchema(schema))).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("response_format.json_schema.schema", e.Status.Detail);
        Assert.Contains(named, e.Status.Detail);
    }

    [Fact]
    public async Task Malformed_format_requests_are_refused_with_invalid_argument()
    {
        async Task<string> Refused(GenerateRequest request)
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => service.Client.CompleteAsync(request).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            return e.Status.Detail;
        }

        var withStop = Request(JsonSchema(Schema));
        withStop.Stop.Add("}");
        Assert.Contains("stop", await Refused(withStop));
        Assert.Contains("choices", await Refused(Request(new ResponseFormat { Choice = new ChoiceFormat() })));
        Assert.Contains("max_whitespace", await Refused(Request(new ResponseFormat { JsonObject = new JsonObjectFormat { MaxWhitespace = 99 } })));
        Assert.Contains("regex", await Refused(Request(new ResponseFormat { Regex = "a(b" })));
        Assert.Contains("root", await Refused(Request(new ResponseFormat { Grammar = "start ::= \"x\"" })));
    }

    [Fact]
    public async Task Json_object_streams_an_object_token_by_token()
    {
        var text = new System.Text.StringBuilder();
        V1.FinishReason finish = default;
        using var call = service.Client.Generate(Request(new ResponseFormat { JsonObject = new JsonObjectFormat { MaxWhitespace = 0 } }, seed: 5, maxTokens: 200));
        await foreach (var chunk in call.ResponseStream.ReadAllAsync())
        {
            text.Append(chunk.Text);
            finish = chunk.FinishReason;
        }

        if (finish == V1.FinishReason.Stop)
        {
            using var doc = JsonDocument.Parse(text.ToString());
            Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        }
        else
        {
            Assert.Equal(V1.FinishReason.Length, finish);
            Assert.StartsWith("{", text.ToString());
        }
    }
}
