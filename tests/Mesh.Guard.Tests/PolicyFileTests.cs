using Mesh.Guard.Embeddings;
using Mesh.Guard.Policies;
using Mesh.Guard.V1;
using Microsoft.Extensions.DependencyInjection;

namespace Mesh.Guard.Tests;

/// <summary>Loading, validating and hot-reloading the policy file.</summary>
public sealed class PolicyFileTests : IDisposable
{
    private const string ValidPolicy = """
        policies:
          default:
            description: only e-mail
            rules:
              - name: mail
                detector: pii
                entities: [EMAIL_ADDRESS]
                action: redact
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("guard-policy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("policies:\n  default:\n    rules:\n      - name: a\n        detector: pii\n       action: block\n", 6, "not valid YAML")]
    [InlineData("policies:\n  default:\n    rules:\n      - name: a\n        detector: piii\n        action: block\n", 5, "unknown detector 'piii'")]
    [InlineData("policies:\n  default:\n    rules:\n      - name: a\n        detector: pii\n        action: explode\n", 6, "'action' must be one of allow, redact, block")]
    [InlineData("policies:\n  default:\n    rules:\n      - name: a\n        detector: regex\n        action: block\n        patterns: ['(a)\\1']\n", 7, "not a usable regular expression")]
    [InlineData("policies:\n  default:\n    rules:\n      - name: a\n        detector: pii\n        action: block\n        entities: [PASSPORT]\n", 7, "unknown entity 'PASSPORT'")]
    [InlineData("policies:\n  default:\n    rules:\n      - name: a\n        detector: length\n        action: block\n        max_chars: -3\n", 7, "'max_chars' must be a whole number")]
    [InlineData("policies:\n  default:\n    rules:\n      - name: a\n        detector: pii\n        action: block\n        colour: red\n", 7, "unknown key 'colour'")]
    [InlineData("policies:\n  default:\n    rules:\n      - name: a\n        detector: json_schema\n        action: block\n        schema: '{\"type\": 12}'\n", 7, "not a valid JSON Schema")]
    [InlineData("tenants:\n  acme: strict\npolicies:\n  default:\n    rules: []\n", 2, "unknown policy 'strict'")]
    public void Malformed_files_are_rejected_with_the_line_that_is_wrong(string yaml, int line, string problem)
    {
        var parser = new PolicyParser(new ZeroEmbedder());
        var e = Assert.Throws<PolicyFileException>(() => parser.Parse(yaml, "p.yaml", 1));
        Assert.Equal(line, e.Line);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.StartsWith($"p.yaml:{line}:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_default_policy_file_is_valid()
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "policies.yaml"));
        var set = new PolicyParser(new ZeroEmbedder()).Parse(text, "policies.yaml", 1);
        Assert.Contains("default", set.Policies.Keys);
    }

    [Fact]
    public async Task A_host_with_a_malformed_policy_file_does_not_start()
    {
        var path = Write("broken.yaml", "policies: [this is: not: valid");
        var e = Assert.Throws<PolicyFileException>(() => GuardHost.CreateApp([$"--Guard:PolicyFile={path}", "--Mesh:Endpoints:Grpc=http://127.0.0.1:0", "--Mesh:Endpoints:Http=http://127.0.0.1:0"]));
        Assert.Contains("broken.yaml:1:", e.Message, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_malformed_edit_is_rejected_and_the_previous_policies_stay_in_force_until_a_valid_edit()
    {
        var path = Write("policies.yaml", ValidPolicy);
        await using var server = await GuardServer.StartAsync(path);
        var store = server.App.Services.GetRequiredService<PolicyStore>();

        var before = await server.CheckAsync("write to a@example.com from 10.0.0.1", Stage.Output);
        Assert.Equal("write to <EMAIL_ADDRESS> from 10.0.0.1", before.RedactedText);

        // A broken edit: the service keeps the old policies and says what is wrong, and where.
        // (A writer truncates before it writes, so a reload may first see an empty file: that is
        // rejected too. Wait for the reload of the finished edit.)
        File.WriteAllText(path, ValidPolicy.Replace("detector: pii", "detector: pi", StringComparison.Ordinal));
        await Eventually(() => store.LastError.Contains("unknown detector 'pi'", StringComparison.Ordinal));
        var list = await server.Client.ListPoliciesAsync(new ListPoliciesRequest());
        Assert.Equal(1, list.Version);
        Assert.Contains("policies.yaml:6:", list.LastError, StringComparison.Ordinal);
        Assert.Contains("unknown detector 'pi'", list.LastError, StringComparison.Ordinal);
        var during = await server.CheckAsync("write to a@example.com from 10.0.0.1", Stage.Output);
        Assert.Equal(before.RedactedText, during.RedactedText);
        Assert.Equal(1, during.PolicyVersion);

        // A valid edit takes over without a restart.
        File.WriteAllText(path, ValidPolicy.Replace("[EMAIL_ADDRESS]", "[EMAIL_ADDRESS, IP_ADDRESS]", StringComparison.Ordinal));
        await Eventually(() => store.Current.Version > 1 && store.LastError.Length == 0);
        var after = await server.CheckAsync("write to a@example.com from 10.0.0.1", Stage.Output);
        Assert.Equal("write to <EMAIL_ADDRESS> from <IP_ADDRESS>", after.RedactedText);
        Assert.True(after.PolicyVersion > 1);
        Assert.Empty((await server.Client.ListPoliciesAsync(new ListPoliciesRequest())).LastError);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Waits (up to 20 s) until the store has reacted to a file edit as expected.</summary>
    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the policy store did not react to the edit within 20 s");
            await Task.Delay(50);
        }
    }
}
