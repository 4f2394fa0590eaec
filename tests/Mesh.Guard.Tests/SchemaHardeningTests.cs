using System.Diagnostics;
using Grpc.Core;
using Mesh.Guard.V1;

namespace Mesh.Guard.Tests;

/// <summary>
/// Caller-supplied schemas and documents that used to end the process (stack overflow), hold a
/// thread (catastrophic backtracking) or surface as UNKNOWN: each is refused with INVALID_ARGUMENT
/// or reported as a validation error, and the next call on the same server succeeds.
/// </summary>
[Collection(GuardCollection.Name)]
public sealed class SchemaHardeningTests(TestPolicyServer tests)
{
    private const string Cycle = """{"$defs":{"a":{"allOf":[{"$ref":"#/$defs/b"}]},"b":{"allOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"}""";

    private GuardService.GuardServiceClient Client => tests.Server.Client;

    [Fact]
    public async Task A_reference_cycle_is_refused_naming_the_cycle_and_the_server_survives()
    {
        var e = await RefusedByValidateJson(Cycle, "{}");
        Assert.Contains("#/$defs/a/allOf/0 → #/$defs/b", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("#/$defs/b/allOf/0 → #/$defs/a", e.Status.Detail, StringComparison.Ordinal);

        var check = await Assert.ThrowsAsync<RpcException>(() => tests.Server.CheckAsync("{}", Stage.Output, "pii", Cycle));
        Assert.Equal(StatusCode.InvalidArgument, check.StatusCode);
        Assert.Contains("json_schema", check.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("same value forever", check.Status.Detail, StringComparison.Ordinal);

        // A self-reference and a cycle through $id/$anchor are the same fault.
        await RefusedByValidateJson("""{"$ref":"#"}""", "1");
        await RefusedByValidateJson("""{"$id":"https://x.test/s","$defs":{"n":{"$anchor":"n","anyOf":[{"$ref":"https://x.test/s#n"}]}},"$ref":"#n"}""", "1");
        await AssertServerServes();
    }

    [Fact]
    public async Task A_recursive_schema_that_steps_into_the_value_still_validates()
    {
        const string tree = """{"$defs":{"node":{"type":"object","required":["v"],"properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}}}},"$ref":"#/$defs/node"}""";
        var ok = await Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = tree, Json = """{"v":1,"kids":[{"v":2,"kids":[{"v":3}]}]}""" });
        Assert.True(ok.Valid);
        var bad = await Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = tree, Json = """{"v":1,"kids":[{"v":2,"kids":[{"v":"x"}]}]}""" });
        Assert.Contains(bad.Errors, e => e.InstanceLocation == "/kids/0/kids/0/v");
    }

    [Fact]
    public async Task Remote_and_dangling_references_are_refused_with_what_to_do()
    {
        var remote = await RefusedByValidateJson("""{"$ref":"http://example.com/schema.json"}""", "{}");
        Assert.Contains("remote references are not fetched", remote.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("http://example.com/schema.json", remote.Status.Detail, StringComparison.Ordinal);
        var relative = await RefusedByValidateJson("""{"properties":{"a":{"$ref":"other.json#/x"}}}""", "{}");
        Assert.Contains("remote references are not fetched", relative.Status.Detail, StringComparison.Ordinal);
        var dangling = await RefusedByValidateJson("""{"$ref":"#/$defs/missing"}""", "{}");
        Assert.Contains("points to nothing", dangling.Status.Detail, StringComparison.Ordinal);
        var anchor = await RefusedByValidateJson("""{"$ref":"#nowhere"}""", "{}");
        Assert.Contains("names no $anchor", anchor.Status.Detail, StringComparison.Ordinal);

        var check = await Assert.ThrowsAsync<RpcException>(() => tests.Server.CheckAsync("{}", Stage.Output, "pii", """{"$ref":"http://example.com/schema.json"}"""));
        Assert.Equal(StatusCode.InvalidArgument, check.StatusCode);
        await AssertServerServes();
    }

    [Fact]
    public async Task Long_reference_chains_and_deep_or_huge_schemas_are_refused()
    {
        // 3,000 definitions each applying the next: evaluation would recurse 6,000 frames deep.
        var defs = string.Join(",", Enumerable.Range(0, 3000).Select(i => $"\"d{i}\":{{\"allOf\":[{{\"$ref\":\"#/$defs/d{i + 1}\"}}]}}"));
        var chain = $"{{\"$defs\":{{{defs},\"d3000\":{{\"type\":\"integer\"}}}},\"$ref\":\"#/$defs/d0\"}}";
        var e = await RefusedByValidateJson(chain, "1");
        Assert.Contains("the limit is 64", e.Status.Detail, StringComparison.Ordinal);

        var nested = string.Concat(Enumerable.Repeat("{\"not\":", 5000)) + "{}" + new string('}', 5000);
        await RefusedByValidateJson(nested, "1");

        var many = "{\"allOf\":[" + string.Join(",", Enumerable.Repeat("true", 21_000)) + "]}";
        var wide = await RefusedByValidateJson(many, "{}");
        Assert.Contains("more than 20000 subschemas", wide.Status.Detail, StringComparison.Ordinal);

        var huge = await RefusedByValidateJson("{\"description\":\"" + new string('x', 300_000) + "\"}", "{}");
        Assert.Contains("Guard:MaxSchemaChars", huge.Status.Detail, StringComparison.Ordinal);
        await AssertServerServes();
    }

    [Fact]
    public async Task Deeply_nested_documents_are_a_validation_error_not_a_crash()
    {
        const string recursive = """{"$defs":{"n":{"type":["object","array","integer"],"items":{"$ref":"#/$defs/n"},"properties":{"x":{"$ref":"#/$defs/n"}}}},"$ref":"#/$defs/n"}""";
        foreach (var doc in new[]
                 {
                     string.Concat(Enumerable.Repeat("{\"x\":", 100_000)) + "1" + new string('}', 100_000),
                     new string('[', 450_000) + new string(']', 450_000),
                 })
        {
            var response = await Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = recursive, Json = doc });
            Assert.False(response.Valid);
            Assert.Contains("maximum configured depth", Assert.Single(response.Errors).Message, StringComparison.Ordinal);
        }
        // The deepest document the schema may check still validates.
        var deepOk = string.Concat(Enumerable.Repeat("{\"x\":", 100)) + "1" + new string('}', 100);
        Assert.True((await Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = recursive, Json = deepOk })).Valid);
        await AssertServerServes();
    }

    [Fact]
    public async Task Schema_patterns_run_in_linear_time_and_backtracking_only_patterns_are_refused()
    {
        // "^(a+)+$" on 30 a's and a '!' takes 2^30 steps on a backtracking engine.
        const string evil = """{"type":"string","pattern":"^(a+)+$"}""";
        var started = Stopwatch.GetTimestamp();
        var response = await Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = evil, Json = "\"" + new string('a', 50_000) + "!\"" });
        Assert.False(response.Valid);
        Assert.Equal("/pattern", Assert.Single(response.Errors).KeywordLocation);
        Assert.True((await Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = evil, Json = "\"aaaa\"" })).Valid);
        // Generous bound: the backtracking engine would not finish within the age of the universe.
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(60));

        const string keys = """{"type":"object","patternProperties":{"^(x+x+)+y$":{"type":"integer"}}}""";
        var props = await Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = keys, Json = "{\"" + new string('x', 5_000) + "y\":\"no\"}" });
        Assert.Contains(props.Errors, e => e.InstanceLocation.EndsWith("y", StringComparison.Ordinal) && e.KeywordLocation.EndsWith("/type", StringComparison.Ordinal));
        Assert.True((await Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = keys, Json = "{\"" + new string('x', 5_000) + "\":\"no\"}" })).Valid);

        var lookaround = await RefusedByValidateJson("""{"type":"string","pattern":"^(?!admin).*$"}""", "\"x\"");
        Assert.Contains("linear time", lookaround.Status.Detail, StringComparison.Ordinal);
        // The drafts that name themselves get the same engine.
        var draft7 = await Client.ValidateJsonAsync(new ValidateJsonRequest
        {
            Schema = """{"$schema":"http://json-schema.org/draft-07/schema#","type":"string","pattern":"^(a+)+$"}""",
            Json = "\"" + new string('a', 50_000) + "!\"",
        });
        Assert.False(draft7.Valid);
        await AssertServerServes();
    }

    private async Task<RpcException> RefusedByValidateJson(string schema, string json)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = schema, Json = json }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.StartsWith("schema: ", e.Status.Detail, StringComparison.Ordinal);
        return e;
    }

    /// <summary>The process is alive and serving: a following call succeeds.</summary>
    private async Task AssertServerServes()
    {
        var ok = await Client.ValidateJsonAsync(new ValidateJsonRequest { Schema = """{"type":"integer"}""", Json = "7" });
        Assert.True(ok.Valid);
    }
}
