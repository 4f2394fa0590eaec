using System.Diagnostics;
using System.Text;
using Mesh.Guard.Embeddings;
using Mesh.Guard.Policies;

namespace Mesh.Guard.Tests;

/// <summary>
/// The policy file is untrusted input: thousands of seeded mutations of real policy files are each
/// parsed or refused with a <see cref="PolicyFileException"/> naming the line and column — never
/// another exception, a crash or a hang.
/// </summary>
public sealed class PolicyFuzzTests
{
    private const int Inputs = 3_000;

    // Fragments a YAML author (or attacker) might leave: structure, anchors and aliases, keys,
    // detector names, odd scalars.
    private static readonly string[] Fragments =
    [
        "[", "]", "{", "}", ":", ": ", ",", "- ", "#", "&a ", "*a", "&b [*a, *a, *a]", "!!binary ", "!!int ", "|", ">", "'", "\"", "? ",
        "\n", "\n  ", "\n      ", "\t", "---\n", "...\n", "%YAML 1.2\n", "~", "null", "true", "-1", "1e309", "0x1F", "\u0000", "\uFEFF", "é", "😀",
        "detector: regex", "detector: keyword", "detector: json_schema", "detector: topic", "detector: length", "detector: prompt_injection",
        "patterns: ['(a+)+$', '(?<=x)y']", "keywords: []", "schema: {type: object, properties: {a: {$ref: '#'}}}", "schema: '{\"$ref\":\"#\"}'",
        "max_chars: 99999999999", "threshold: NaN", "stages: [input, sideways]", "entities: [IBAN_CODE, NOPE]", "redact: hash", "mask_char: ''",
        "tenants: {a: default}", "tenants: [x]", "policies: []", "rules: {}", "action: block", "name: x", "{[{[{[", "[[[[[[[[[[[[", ": : :",
        "schema: {a: [{b: [{c: *a}]}]}", "known_attacks: [1, [2]]", "? [a, b]\n: c", "{? {a: b} : c}",
    ];

    [Fact]
    public async Task Mutated_policy_files_are_parsed_or_refused_with_a_position()
    {
        var seeds = new[]
        {
            File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "policies.yaml")),
            File.ReadAllText(GuardServer.DataFile("test-policies.yaml")),
        };
        var parser = new PolicyParser(new ZeroEmbedder());
        var parsed = 0;
        var refused = 0;
        var slowest = TimeSpan.Zero;
        for (var i = 0; i < Inputs; i++)
        {
            var random = new Random(20_261_130 + i);
            var text = Mutate(seeds[i % seeds.Length], random);
            var started = Stopwatch.GetTimestamp();
            var task = Task.Run(() => parser.Parse(text, "fuzz.yaml", i));
            // Generous per-input bound: a hang, not a slow machine, is what this catches.
            var finished = await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(60))) == task;
            Assert.True(finished, $"input {i} did not finish in 60 s:\n{Excerpt(text)}");
            slowest = Max(slowest, Stopwatch.GetElapsedTime(started));
            if (task.Exception?.InnerException is { } e)
            {
                var refusal = e as PolicyFileException;
                Assert.True(refusal is not null, $"input {i} failed with {e}\n--- input ---\n{Excerpt(text)}");
                Assert.True(refusal.Line >= 1 && refusal.Column >= 1, $"input {i}: no position in '{refusal.Message}'");
                Assert.StartsWith($"fuzz.yaml:{refusal.Line}:{refusal.Column}: ", refusal.Message, StringComparison.Ordinal);
                refused++;
            }
            else
            {
                Assert.NotEmpty((await task).Policies);
                parsed++;
            }
        }
        // The mutations must exercise both outcomes, or the test proves little.
        Assert.True(parsed > Inputs / 20 && refused > Inputs / 2, $"parsed {parsed}, refused {refused}");
        Console.WriteLine($"policy fuzz: {parsed} parsed, {refused} refused, slowest {slowest.TotalMilliseconds:F0} ms");
    }

    [Theory]
    [InlineData(100_000, "nesting deeper than 64 levels")]
    [InlineData(65, "nesting deeper than 64 levels")]
    public void Deep_nesting_is_refused_before_the_tree_is_built(int depth, string problem)
    {
        var text = "policies:\n  default:\n    rules:\n      - name: a\n        detector: json_schema\n        action: block\n        schema: "
            + new string('[', depth) + new string(']', depth) + "\n";
        var e = Assert.Throws<PolicyFileException>(() => new PolicyParser(new ZeroEmbedder()).Parse(text, "deep.yaml", 1));
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
        Assert.Equal(7, e.Line);
    }

    [Fact]
    public void Alias_bombs_are_refused_before_anything_expands_them()
    {
        var text = new StringBuilder("policies:\n  default:\n    rules:\n      - name: a\n        detector: json_schema\n        action: block\n        schema:\n");
        text.Append("          a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i < 12; i++)
        {
            text.Append($"          a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n");
        }
        var e = Assert.Throws<PolicyFileException>(() => new PolicyParser(new ZeroEmbedder()).Parse(text.ToString(), "bomb.yaml", 1));
        Assert.Contains("aliases", e.Message, StringComparison.Ordinal);
    }

    private static string Mutate(string seed, Random random)
    {
        var text = new StringBuilder(seed);
        var edits = 1 + random.Next(4);
        for (var k = 0; k < edits; k++)
        {
            var at = random.Next(text.Length + 1);
            switch (random.Next(7))
            {
                case 0: // delete a range
                    text.Remove(Math.Min(at, text.Length), Math.Min(random.Next(1, 40), text.Length - Math.Min(at, text.Length)));
                    break;
                case 1: // insert a fragment
                    text.Insert(at, Fragments[random.Next(Fragments.Length)]);
                    break;
                case 2: // insert random characters
                    text.Insert(at, new string(Enumerable.Range(0, random.Next(1, 6)).Select(_ => (char)random.Next(0, 0x3000)).ToArray()));
                    break;
                case 3: // duplicate a line
                {
                    var lines = text.ToString().Split('\n').ToList();
                    var line = random.Next(lines.Count);
                    lines.Insert(line, lines[line]);
                    text.Clear().Append(string.Join('\n', lines));
                    break;
                }
                case 4: // re-indent a line
                {
                    var lines = text.ToString().Split('\n');
                    var line = random.Next(lines.Length);
                    lines[line] = new string(' ', random.Next(0, 12)) + lines[line].TrimStart();
                    text.Clear().Append(string.Join('\n', lines));
                    break;
                }
                case 5: // truncate
                    text.Length = at;
                    break;
                default: // swap a value for another file's
                {
                    var lines = text.ToString().Split('\n');
                    var line = random.Next(lines.Length);
                    var colon = lines[line].IndexOf(": ", StringComparison.Ordinal);
                    if (colon > 0)
                    {
                        var fragment = Fragments[random.Next(Fragments.Length)];
                        lines[line] = lines[line][..(colon + 2)] + fragment;
                    }
                    text.Clear().Append(string.Join('\n', lines));
                    break;
                }
            }
        }
        return text.ToString();
    }

    private static string Excerpt(string text) => text.Length <= 2000 ? text : text[..2000] + "…";

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
