using System.Text.Json;
using Json.Schema;
using Mesh.Inference.Engine;
using Mesh.Inference.Sampling;
using Mesh.Inference.StructuredOutput;
using Mesh.Inference.Tests.Tokenization;
using Xunit.Abstractions;

namespace Mesh.Inference.Tests.StructuredOutput;

/// <summary>
/// The guarantee of structured output, as properties: for 50 generated schemas × 20 seeds at
/// temperature 1.0, every output that finishes parses and validates against its schema with
/// JsonSchema.Net (Guard's validator, format assertion on), on stories260K (byte-fallback vocabulary),
/// llama-2-tiny-random (32k vocabulary) and a synthetic byte-level vocabulary; likewise regex and
/// choice outputs match their pattern or list. Outputs cut by max_tokens end with LENGTH.
/// </summary>
public sealed class StructuredOutputPropertyTests(ITestOutputHelper output)
{
    private const int SchemaCount = 50;
    private const int Seeds = 20;
    private static readonly ResponseFormatCache Cache = new(256);

    [Fact]
    public Task Json_schema_outputs_validate_on_stories260K() => JsonPropertyOnModel(TestModels.Stories260KGguf, maxTokens: 80);

    [Fact]
    public Task Json_schema_outputs_validate_on_llama_2_tiny_random() => JsonPropertyOnModel(TestModels.TinyRandomGguf, maxTokens: 40);

    [Fact]
    public void Json_schema_outputs_validate_on_a_byte_level_vocabulary()
    {
        var (finished, total) = (0, 0);
        for (var n = 0; n < SchemaCount; n++)
        {
            var schema = RandomFormats.Schema(n);
            var format = Cache.Get(Json(schema), SyntheticVocabularies.ByteLevel);
            for (var seed = 0; seed < Seeds; seed++)
            {
                var (text, done) = SyntheticVocabularies.Generate(format, seed, maxTokens: 40);
                total++;
                if (done)
                {
                    finished++;
                    AssertValid(schema, text);
                }
            }
        }

        Report("byte-level", finished, total);
    }

    [Fact]
    public async Task Regex_and_choice_outputs_match_on_stories260K_and_llama_2_tiny_random()
    {
        foreach (var model in new[] { TestModels.Stories260KGguf, TestModels.TinyRandomGguf })
        {
            using var harness = new EngineHarness(model);
            var vocabulary = TokenVocabulary.For(harness.Model.Tokenizer);
            var (finished, total) = (0, 0);
            for (var n = 0; n < SchemaCount; n++)
            {
                var random = new Random(1000 + n);
                var pattern = RandomFormats.Pattern(random);
                var regex = new System.Text.RegularExpressions.Regex($"^(?:{pattern})$");
                foreach (var (text, finish) in await RunAsync(harness, Cache.Get(new(ResponseFormatKind.Regex, pattern, [], new()), vocabulary), 32))
                {
                    total++;
                    if (finish is FinishReason.Stop or FinishReason.Eos)
                    {
                        finished++;
                        Assert.True(regex.IsMatch(text), $"/{pattern}/ produced \"{text}\"");
                    }
                }

                var choices = RandomFormats.Choices(random);
                foreach (var (text, finish) in await RunAsync(harness, Cache.Get(new(ResponseFormatKind.Choice, "", choices, new()), vocabulary), 32))
                {
                    Assert.NotEqual(FinishReason.Length, finish); // every choice fits 32 tokens
                    Assert.Contains(text, choices);
                }
            }

            Report(Path.GetFileName(model) + " regex", finished, total);
        }

        foreach (var n in Enumerable.Range(0, SchemaCount))
        {
            var random = new Random(2000 + n);
            var pattern = RandomFormats.Pattern(random);
            var regex = new System.Text.RegularExpressions.Regex($"^(?:{pattern})$");
            var choices = RandomFormats.Choices(random);
            for (var seed = 0; seed < Seeds; seed++)
            {
                var (text, done) = SyntheticVocabularies.Generate(Cache.Get(new(ResponseFormatKind.Regex, pattern, [], new()), SyntheticVocabularies.ByteLevel), seed, 32);
                Assert.True(!done || regex.IsMatch(text), $"/{pattern}/ produced \"{text}\"");
                var (choice, chosen) = SyntheticVocabularies.Generate(Cache.Get(new(ResponseFormatKind.Choice, "", choices, new()), SyntheticVocabularies.ByteLevel), seed, 32);
                Assert.True(chosen);
                Assert.Contains(choice, choices);
            }
        }
    }

    private async Task JsonPropertyOnModel(string model, int maxTokens)
    {
        using var harness = new EngineHarness(model);
        var vocabulary = TokenVocabulary.For(harness.Model.Tokenizer);
        var (finished, total) = (0, 0);
        for (var n = 0; n < SchemaCount; n++)
        {
            var schema = RandomFormats.Schema(n);
            foreach (var (text, finish) in await RunAsync(harness, Cache.Get(Json(schema), vocabulary), maxTokens))
            {
                total++;
                if (finish is FinishReason.Stop or FinishReason.Eos)
                {
                    finished++;
                    AssertValid(schema, text);
                }
                else
                {
                    Assert.Equal(FinishReason.Length, finish);
                }
            }
        }

        Report(Path.GetFileName(model), finished, total);
    }

    /// <summary>Runs <see cref="Seeds"/> seeds in one batch: half after BOS alone (start of text), half after a text prompt.</summary>
    private static async Task<List<(string Text, FinishReason Finish)>> RunAsync(EngineHarness harness, CompiledFormat format, int maxTokens)
    {
        var tokenizer = harness.Model.Tokenizer;
        var runs = Enumerable.Range(0, Seeds).Select(seed =>
        {
            var prompt = seed % 2 == 0 ? [tokenizer.BosId] : tokenizer.Encode("Once upon a time", addBos: true);
            var request = new GenerationRequest(prompt, maxTokens, new SamplingParameters { Temperature = 1, Seed = (ulong)seed }, [], LogitsProcessor: format.CreateProcessor(prompt));
            return harness.RunAsync(request);
        });
        return [.. (await Task.WhenAll(runs)).Select(r => (r.Text, r.Last.Finish!.Value))];
    }

    private static ResponseFormat Json(string schema) => new(ResponseFormatKind.JsonSchema, schema, [], new JsonSchemaOptions());

    /// <summary>Validates as Guard's JsonSchemaValidator does (JsonSchema.Net, fresh registry), with format assertion on.</summary>
    private static void AssertValid(string schemaText, string text)
    {
        using var schemaDoc = JsonDocument.Parse(schemaText);
        var schema = JsonSchema.Build(schemaDoc.RootElement.Clone(), new BuildOptions { SchemaRegistry = new SchemaRegistry() });
        JsonDocument instance;
        try
        {
            instance = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            Assert.Fail($"schema {schemaText} produced text that is not JSON ({e.Message}): {text}");
            return;
        }

        using (instance)
        {
            var result = schema.Evaluate(instance.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
            Assert.True(result.IsValid, $"schema {schemaText} produced invalid {text}: {string.Join("; ", (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")))}");
        }
    }

    private void Report(string what, int finished, int total)
    {
        output.WriteLine($"{what}: {finished} of {total} outputs finished, all valid");
        // Not vacuous: a real share of the outputs must finish for the property to say anything.
        Assert.True(finished >= total / 5, $"{what}: only {finished} of {total} outputs finished within max_tokens");
    }
}
