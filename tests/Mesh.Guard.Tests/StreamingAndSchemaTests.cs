using Grpc.Core;
using Mesh.Guard.V1;

namespace Mesh.Guard.Tests;

/// <summary>CheckStream, ValidateJson and JSON Schema checks of answers.</summary>
[Collection(GuardCollection.Name)]
public sealed class StreamingAndSchemaTests(DefaultPolicyServer defaults, TestPolicyServer tests)
{
    [Fact]
    public async Task A_streamed_answer_is_blocked_as_soon_as_a_secret_appears()
    {
        string[] chunks =
        [
            "Sure! To configure the client, ", "set the region to eu-west-1 and ", "use the key AKIAZ3MX", "QWERTY7PLK2B ",
            "as the access key. ", "Then restart the service and ", "check the logs for errors.",
        ];
        using var call = defaults.Server.Client.CheckStream();
        var responses = new List<CheckStreamResponse>();
        var sent = 0;
        foreach (var chunk in chunks)
        {
            await call.RequestStream.WriteAsync(new CheckStreamRequest { Chunk = chunk, Policy = "default" });
            sent++;
            Assert.True(await call.ResponseStream.MoveNext());
            responses.Add(call.ResponseStream.Current);
            if (call.ResponseStream.Current.Verdict == V1.Action.Block)
            {
                break;
            }
        }
        var blocked = responses[^1];
        Assert.Equal(V1.Action.Block, blocked.Verdict);
        Assert.False(blocked.Final);
        Assert.Equal(4, sent);
        var secret = Assert.Single(blocked.Violations);
        Assert.Equal("AWS_ACCESS_KEY", secret.EntityType);
        // The server ends the stream after a block.
        Assert.False(await call.ResponseStream.MoveNext());
        Assert.All(responses[..^1], r => Assert.Equal(V1.Action.Allow, r.Verdict));
    }

    [Fact]
    public async Task The_final_stream_message_equals_a_check_of_the_whole_text()
    {
        var text = "Your advisor is Dana (dana.r@example.org, +44 20 7946 0018). The refund went to DE89 3704 0044 0532 0130 00 yesterday.";
        using var call = tests.Server.Client.CheckStream();
        var first = true;
        var interim = new List<CheckStreamResponse>();
        for (var i = 0; i < text.Length; i += 7)
        {
            await call.RequestStream.WriteAsync(new CheckStreamRequest
            {
                Chunk = text.Substring(i, Math.Min(7, text.Length - i)),
                Policy = first ? "pii" : "",
                Stage = first ? Stage.Output : Stage.Unspecified,
            });
            first = false;
            Assert.True(await call.ResponseStream.MoveNext());
            interim.Add(call.ResponseStream.Current);
        }
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());
        var final = call.ResponseStream.Current;
        Assert.True(final.Final);

        var check = await tests.Server.CheckAsync(text, Stage.Output, "pii");
        Assert.Equal(check.RedactedText, final.RedactedText);
        Assert.Equal(check.Verdict, final.Verdict);
        Assert.Equal(check.Violations, final.Violations);
        // Each violation was reported once along the way, never a half-received value.
        var streamed = interim.SelectMany(r => r.Violations).ToList();
        Assert.Equal(check.Violations.Select(v => (v.EntityType, v.Start, v.End)), streamed.Select(v => (v.EntityType, v.Start, v.End)));
        Assert.False(await call.ResponseStream.MoveNext());
    }

    [Fact]
    public async Task ValidateJson_reports_json_pointers_and_keyword_locations()
    {
        const string schema = """{"type":"object","required":["name","age"],"properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0},"tags":{"type":"array","items":{"type":"string"}}}}""";
        var ok = await tests.Server.Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = schema, Json = """{"name":"Ana","age":31}""" });
        Assert.True(ok.Valid);
        Assert.Empty(ok.Errors);

        var bad = await tests.Server.Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = schema, Json = """{"name":"Ana","age":-1,"tags":["a",7]}""" });
        Assert.False(bad.Valid);
        Assert.Contains(bad.Errors, e => e.InstanceLocation == "/age" && e.KeywordLocation == "/properties/age/minimum");
        Assert.Contains(bad.Errors, e => e.InstanceLocation == "/tags/1" && e.KeywordLocation.EndsWith("/type", StringComparison.Ordinal));
        Assert.All(bad.Errors, e => Assert.NotEmpty(e.Message));

        var missing = await tests.Server.Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = schema, Json = """{"name":"Ana"}""" });
        Assert.Contains(missing.Errors, e => e.InstanceLocation == "" && e.KeywordLocation == "/required" && e.Message.Contains("age", StringComparison.Ordinal));

        var notJson = await tests.Server.Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = schema, Json = "{name: Ana" });
        var parseError = Assert.Single(notJson.Errors);
        Assert.Equal("", parseError.InstanceLocation);
        Assert.Contains("Not valid JSON", parseError.Message, StringComparison.Ordinal);

        var badSchema = await Assert.ThrowsAsync<RpcException>(() => tests.Server.Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = "{\"type\": 5}", Json = "{}" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, badSchema.StatusCode);
        var noSchema = await Assert.ThrowsAsync<RpcException>(() => tests.Server.Client.ValidateJsonAsync(new ValidateJsonRequest { Json = "{}" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, noSchema.StatusCode);
    }

    [Fact]
    public async Task A_policy_schema_blocks_answers_of_the_wrong_shape()
    {
        var good = await tests.Server.CheckAsync("""{"id":"INV-12","total":30.5,"items":[{"sku":"A1","qty":2}]}""", Stage.Output, "invoice-json");
        Assert.Equal(V1.Action.Allow, good.Verdict);

        var bad = await tests.Server.CheckAsync("""{"id":"12","total":30.5,"items":[{"sku":"A1","qty":0}],"note":"x"}""", Stage.Output, "invoice-json");
        Assert.Equal(V1.Action.Block, bad.Verdict);
        Assert.All(bad.Violations, v => Assert.Equal("json_schema", v.Category));
        Assert.Contains(bad.Violations, v => v.JsonPointer == "/id" && v.EntityType == "pattern");
        Assert.Contains(bad.Violations, v => v.JsonPointer == "/items/0/qty" && v.EntityType == "minimum");
        Assert.Contains(bad.Violations, v => v.EntityType == "additionalProperties");

        // Schemas apply to answers only: the same text as input is not checked against it.
        var input = await tests.Server.CheckAsync("not json at all", Stage.Input, "invoice-json");
        Assert.Equal(V1.Action.Allow, input.Verdict);
    }

    [Fact]
    public async Task A_schema_sent_with_the_request_is_applied_to_the_answer()
    {
        const string schema = """{"type":"object","required":["answer"],"properties":{"answer":{"type":"string","maxLength":5}}}""";
        var ok = await tests.Server.CheckAsync("""{"answer":"yes"}""", Stage.Output, "request-json", schema);
        Assert.Equal(V1.Action.Allow, ok.Verdict);
        var tooLong = await tests.Server.CheckAsync("""{"answer":"certainly"}""", Stage.Output, "request-json", schema);
        var v = Assert.Single(tooLong.Violations);
        Assert.Equal(("maxLength", "/answer", "request-schema"), (v.EntityType, v.JsonPointer, v.Rule));

        // A policy without a json_schema rule still applies the request's schema (as request_schema).
        var prose = await tests.Server.CheckAsync("Sure, here you go!", Stage.Output, "pii", schema);
        Assert.Equal(V1.Action.Block, prose.Verdict);
        Assert.Equal("request_schema", Assert.Single(prose.Violations).Rule);
    }

    [Fact]
    public async Task Allowed_topics_block_off_topic_input()
    {
        var cooking = await tests.Server.CheckAsync("How long should I knead bread dough, and how do I know it has proofed enough?", Stage.Input, "on-topic");
        Assert.True(cooking.Verdict == V1.Action.Allow, string.Join("; ", cooking.Violations.Select(v => v.Message)));
        var offTopic = await tests.Server.CheckAsync("Write a SQL query that lists every customer who churned last quarter.", Stage.Input, "on-topic");
        var v = Assert.Single(offTopic.Violations);
        Assert.Equal(("topic", "off_topic", V1.Action.Block), (v.Category, v.EntityType, v.Action));
    }
}
