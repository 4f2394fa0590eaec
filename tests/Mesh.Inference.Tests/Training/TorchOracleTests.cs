using System.Diagnostics;
using System.Text.Json.Nodes;
using Mesh.Inference.Training;
using Xunit.Abstractions;

namespace Mesh.Inference.Tests.Training;

/// <summary>
/// PyTorch as the gradient oracle of Mesh's hand-written backward pass: <c>torch_lora_oracle.py</c>
/// (Debian's python3-torch, autograd in float64) computes the batch loss and ∂loss/∂A, ∂loss/∂B of every
/// adapted projection of a small random Llama model (grouped-query attention, Q/K/V/O biases, untied
/// classifier) from the same weights, factors and token ids, and Mesh's f32 values must agree.
/// </summary>
public sealed class TorchOracleTests(ITestOutputHelper output)
{
    [TorchFact]
    public void GradientsOfEveryFactorMatchPyTorchAutograd()
    {
        var model = TrainingPassTests.RandomModel(seed: 23);
        var trainer = new LoraTrainer(model, new LoraTrainingOptions { Rank = 3, Alpha = 6, Seed = 5, Threads = 2, BatchSize = 3 });
        TrainingPassTests.Randomize(trainer, seed: 11, bScale: 0.5f);
        var random = new Random(8);
        TrainingExample Example(int n)
        {
            var tokens = Enumerable.Range(0, n).Select(_ => random.Next(model.Config.VocabSize)).ToArray();
            return new TrainingExample(tokens, [.. tokens.Skip(1).Select((t, i) => i >= n / 3 ? t : -1), -1]);
        }

        TrainingExample[] batch = [Example(14), Example(9), Example(12)];
        var (nll, count) = trainer.Gradient(batch);
        var gradient = trainer.LastGradient;

        var input = Path.Combine(Path.GetTempPath(), $"mesh-torch-oracle-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(input, Describe(model, trainer, batch).ToJsonString());
            var reference = JsonNode.Parse(TorchOracle.Run(input))!;

            var meshLoss = nll / count;
            var torchLoss = reference["loss"]!.GetValue<double>();
            output.WriteLine($"loss: mesh {meshLoss:F8}, torch {torchLoss:F8}");
            Assert.True(Math.Abs(meshLoss - torchLoss) <= 1e-5 * torchLoss, $"loss: mesh {meshLoss:F8}, torch {torchLoss:F8}");

            var slots = reference["slots"]!.AsArray();
            Assert.Equal(trainer.Lora.Slots.Count, slots.Count);
            var worst = 0.0;
            foreach (var slot in trainer.Lora.Slots)
            {
                foreach (var (mesh, which) in new[] { (gradient.A[slot.Index], "a"), (gradient.B[slot.Index], "b") })
                {
                    var torch = slots[slot.Index]![which]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
                    Assert.Equal(torch.Length, mesh.Length);
                    var norm = Math.Sqrt(torch.Sum(v => v * v));
                    var error = Math.Sqrt(mesh.Zip(torch, (m, t) => (m - t) * (m - t)).Sum());
                    var relative = error / norm;
                    worst = Math.Max(worst, relative);
                    output.WriteLine($"block {slot.Layer} {slot.Target} {which}: |torch| {norm:E4}, relative error {relative:E2}");
                    Assert.True(norm > 1e-4, $"block {slot.Layer} {slot.Target} {which}: the gradient should not vanish ({norm:E3})");
                    Assert.True(relative <= 1e-4, $"block {slot.Layer} {slot.Target} {which}: ‖mesh − torch‖ / ‖torch‖ = {relative:E3}");
                }
            }

            output.WriteLine($"worst relative error {worst:E2} over {2 * slots.Count} gradients");
        }
        finally
        {
            File.Delete(input);
        }
    }

    /// <summary>The oracle's input: the model's weights, the LoRA factors in slot order, the examples.</summary>
    private static JsonObject Describe(FrozenLlama model, LoraTrainer trainer, IReadOnlyList<TrainingExample> batch)
    {
        var c = model.Config;
        static JsonArray Values(float[]? values) => values is null ? [] : [.. values.Select(v => JsonValue.Create(v))];
        static JsonNode? Optional(float[]? values) => values is null ? null : Values(values);
        return new JsonObject
        {
            ["config"] = new JsonObject
            {
                ["dim"] = c.Dim, ["hidden"] = c.HiddenDim, ["heads"] = c.Heads, ["kv_heads"] = c.KvHeads,
                ["vocab"] = c.VocabSize, ["eps"] = c.NormEpsilon, ["theta"] = c.RopeTheta,
            },
            ["embedding"] = Values(model.Embedding),
            ["classifier"] = Values(model.Classifier),
            ["output_norm"] = Values(model.OutputNorm),
            ["layers"] = new JsonArray([.. model.Layers.Select(l => (JsonNode)new JsonObject
            {
                ["attention_norm"] = Values(l.AttentionNorm), ["ffn_norm"] = Values(l.FeedForwardNorm),
                ["wq"] = Values(l.Query), ["wk"] = Values(l.Key), ["wv"] = Values(l.Value), ["wo"] = Values(l.Output),
                ["w1"] = Values(l.Gate), ["w3"] = Values(l.Up), ["w2"] = Values(l.Down),
                ["bq"] = Optional(l.QueryBias), ["bk"] = Optional(l.KeyBias), ["bv"] = Optional(l.ValueBias), ["bo"] = Optional(l.OutputBias),
            })]),
            ["lora"] = new JsonObject
            {
                ["scale"] = trainer.Lora.Scale,
                ["slots"] = new JsonArray([.. trainer.Lora.Slots.Select(s => (JsonNode)new JsonObject
                {
                    ["layer"] = s.Layer, ["target"] = s.Target.ToString(), ["rank"] = s.Rank, ["inputs"] = s.Inputs, ["outputs"] = s.Outputs,
                    ["a"] = Values(s.A), ["b"] = Values(s.B),
                })]),
            },
            ["examples"] = new JsonArray([.. batch.Select(e => (JsonNode)new JsonObject
            {
                ["tokens"] = new JsonArray([.. e.Tokens.Select(t => JsonValue.Create(t))]),
                ["targets"] = new JsonArray([.. e.Targets.Select(t => JsonValue.Create(t))]),
            })]),
        };
    }
}

/// <summary>Runs <c>torch_lora_oracle.py</c> with /usr/bin/python3; <see cref="Missing"/> says why it cannot.</summary>
internal static class TorchOracle
{
    private const string Python = "/usr/bin/python3";
    private static readonly Lazy<string?> MissingReason = new(FindMissing);

    /// <summary>Null when python3 imports torch; otherwise the reason and the fix.</summary>
    public static string? Missing => MissingReason.Value;

    /// <summary>The script's stdout (one JSON object).</summary>
    /// <exception cref="InvalidOperationException">The script failed (its stderr is in the message).</exception>
    public static string Run(string input)
    {
        var (code, stdout, stderr) = RunToEnd([Script, input], TimeSpan.FromMinutes(2));
        return code == 0 ? stdout : throw new InvalidOperationException($"torch_lora_oracle.py exited {code}: {stderr}");
    }

    private static string Script
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
                {
                    return Path.Combine(dir.FullName, "tests", "Mesh.Inference.Tests", "Training", "torch_lora_oracle.py");
                }
            }

            throw new InvalidOperationException($"No Mesh.sln above {AppContext.BaseDirectory}; the tests run from the repository.");
        }
    }

    private static string? FindMissing()
    {
        if (!File.Exists(Python))
        {
            return "no /usr/bin/python3";
        }

        var (code, _, _) = RunToEnd(["-c", "import torch"], TimeSpan.FromMinutes(1));
        return code == 0 ? null : "python3 cannot import torch: apt-get install python3-torch (scripts/install-torch.sh)";
    }

    private static (int Code, string Stdout, string Stderr) RunToEnd(string[] arguments, TimeSpan limit)
    {
        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"python3 ran past {limit}");
        }

        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>A fact skipped, with the reason, where python3 cannot import torch.</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public TorchFactAttribute() => Skip = TorchOracle.Missing;
}
