using Mesh.Inference.Backends;
using Mesh.Inference.Backends.Cpu;
using Mesh.Inference.Engine;
using Mesh.Inference.Models;
using Mesh.Inference.Sampling;
using Mesh.Inference.StructuredOutput;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests.Backends;

/// <summary>
/// Sampling on the device, without a device: the engine drives <see cref="ReferenceDeviceBackend"/>
/// (the CPU forward pass, then the CPU references of logits_process_f32 and sample_f32 on the
/// engine's <see cref="DeviceSamplingBatch"/>, only token ids back) and must produce the tokens the
/// host path (logits copied back, the CPU Sampler) produces for the same seeds, with penalties and
/// with a structured-output mask.
/// </summary>
public sealed class DeviceSamplingTests
{
    private static readonly ResponseFormatCache Formats = new(16);

    private static SamplingParameters Sampling(int seed, bool penalties) => new()
    {
        Temperature = 0.9f,
        TopK = 40,
        TopP = 0.95f,
        MinP = 0.02f,
        Seed = (ulong)seed,
        RepetitionPenalty = penalties ? 1.3f : 1f,
        FrequencyPenalty = penalties ? 0.4f : 0f,
        PresencePenalty = penalties ? 0.25f : 0f,
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Device_sampling_gives_the_host_samplers_tokens_for_the_same_seeds(bool penalties)
    {
        var (host, device, backend) = await RunBoth(model => Enumerable.Range(0, 6).Select(seed =>
            new GenerationRequest(model.Tokenizer.Encode("Once upon a time", addBos: true), 40, Sampling(seed, penalties), [], IgnoreEos: true)).ToArray());

        Assert.Equal(host, device);
        Assert.True(backend.DeviceSteps > 0 && backend.HostSteps == 0, $"device steps {backend.DeviceSteps}, host steps {backend.HostSteps}");
        Assert.True(host.Distinct(new SequenceComparer()).Count() > 1, "different seeds must give different texts, or the comparison says little");
    }

    [Fact]
    public async Task Device_sampling_with_a_structured_output_mask_gives_the_host_paths_tokens()
    {
        const string schema = """{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}""";
        var (host, device, backend) = await RunBoth(model =>
        {
            var format = Formats.Get(new ResponseFormat(ResponseFormatKind.JsonSchema, schema, [], new JsonSchemaOptions()), TokenVocabulary.For(model.Tokenizer));
            return Enumerable.Range(0, 4).Select(seed =>
            {
                var prompt = model.Tokenizer.Encode("Once upon a time", addBos: true);
                return new GenerationRequest(prompt, 48, Sampling(seed, penalties: seed % 2 == 1), [], LogitsProcessor: format.CreateProcessor(prompt));
            }).ToArray();
        });

        Assert.Equal(host, device);
        Assert.True(backend.DeviceSteps > 0 && backend.HostSteps == 0);
        // The mask was applied on the "device": every output starts as the schema's JSON must.
        Assert.All(s_lastTexts, text => Assert.StartsWith("{", text.TrimStart()));
    }

    [Fact]
    public async Task A_request_that_asks_for_logprobs_takes_the_host_path_and_still_agrees()
    {
        var (host, device, backend) = await RunBoth(model =>
        [
            new GenerationRequest(model.Tokenizer.Encode("Once upon a time", addBos: true), 24, Sampling(7, penalties: true), [], IgnoreEos: true, TopLogprobs: 2),
        ]);

        Assert.Equal(host, device);
        Assert.Equal(0, backend.DeviceSteps);
        Assert.True(backend.HostSteps > 0);
    }

    /// <summary>Runs the same requests on a host-sampling engine and on one whose backend samples "on the device".</summary>
    private static async Task<(List<List<int>> Host, List<List<int>> Device, ReferenceDeviceBackend Backend)> RunBoth(Func<LlamaModel, GenerationRequest[]> requests)
    {
        var host = await Run(model => new CpuBackend(model.Config, model.Weights, new BackendOptions { Threads = 1 }), requests);
        ReferenceDeviceBackend? device = null;
        var onDevice = await Run(model => device = new ReferenceDeviceBackend(new CpuBackend(model.Config, model.Weights, new BackendOptions { Threads = 1 })), requests);
        return (host, onDevice, device!);
    }

    /// <summary>The texts of the last <see cref="Run"/>.</summary>
    private static List<string> s_lastTexts = [];

    private static async Task<List<List<int>>> Run(Func<LlamaModel, IInferenceBackend> backend, Func<LlamaModel, GenerationRequest[]> requests)
    {
        using var model = LlamaModel.Load(TestModels.Stories260KGguf);
        using var engineBackend = backend(model);
        using var engine = new InferenceEngine(model, engineBackend, new EngineOptions());
        var runs = requests(model).Select(async request =>
        {
            var tokens = new List<int>();
            var text = new System.Text.StringBuilder();
            await foreach (var chunk in engine.Submit(request, CancellationToken.None).ReadAllAsync(CancellationToken.None))
            {
                tokens.AddRange(chunk.TokenIds);
                text.Append(chunk.Text);
            }
            return (tokens, text.ToString());
        });
        var results = await Task.WhenAll(runs);
        s_lastTexts = [.. results.Select(r => r.Item2)];
        return [.. results.Select(r => r.tokens)];
    }

    private sealed class SequenceComparer : IEqualityComparer<List<int>>
    {
        public bool Equals(List<int>? x, List<int>? y) => x!.SequenceEqual(y!);

        public int GetHashCode(List<int> obj) => obj.Count == 0 ? 0 : obj[0] ^ obj.Count;
    }
}
