using System.Diagnostics;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Inference.Admin.V1;
using Mesh.Inference.Chat;
using Mesh.Inference.Models;
using Mesh.Inference.Tests.Tokenization;
using Mesh.Inference.Training;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults;
using Xunit.Abstractions;

namespace Mesh.Inference.Tests.Training;

/// <summary>
/// Tuning TinyStories-656K on part of the retailer Q&amp;A set: the held-out wording of the same facts gets
/// a lower loss; and an adapter written by the <c>tune</c> command loads into the real host over
/// loopback and changes what the Chat RPC answers with the <c>adapter</c> field.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class LoraTuningTests(RetailQaFixture data, ITestOutputHelper output) : IClassFixture<RetailQaFixture>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-tune-").FullName;

    [Fact]
    public void TuningOnASubsetLowersTheHeldOutLoss()
    {
        var (trainPath, heldOutPath) = data.Subset(facts: 48);
        using var model = LlamaModel.Load(TestModels.TinyStories656KGguf);
        var template = ChatTemplate.Resolve("chatml", null);
        var train = ChatDataset.Read(trainPath, model.Tokenizer, template, model.Config.ContextLength);
        var heldOut = ChatDataset.Read(heldOutPath, model.Tokenizer, template, model.Config.ContextLength);
        var trainer = new LoraTrainer(model, new LoraTrainingOptions { Rank = 8, Alpha = 16, LearningRate = 2e-3f, BatchSize = 8, Threads = 2, Seed = 1 });

        var before = trainer.Evaluate(heldOut);
        var clock = Stopwatch.StartNew();
        var epochs = new[] { trainer.TrainEpoch(train, 1), trainer.TrainEpoch(train, 2) };
        var after = trainer.Evaluate(heldOut);

        output.WriteLine($"held-out loss {before:F4} → {after:F4} ({(before - after) / before:P1} lower); train loss by epoch {string.Join(", ", epochs.Select(e => e.Loss.ToString("F4")))}; {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal((96, 48), (train.Count, heldOut.Count));
        Assert.True(epochs[1].Loss < epochs[0].Loss, "the training loss should fall from epoch 1 to 2");
        Assert.True(after < 0.8 * before, $"held-out loss {before:F4} → {after:F4}: expected at least 20% lower");
    }

    [Fact]
    public async Task AnAdapterTheTuneCommandWritesServesThroughInference()
    {
        var (trainPath, heldOutPath) = data.Subset(facts: 32);
        var adapterPath = Path.Combine(_folder, "shop.gguf");
        var summary = RunTune(
            "tune", "--model", TestModels.TinyStories656KGguf, "--chat-template", "chatml", "--data", trainPath, "--eval", heldOutPath,
            "--out", adapterPath, "--epochs", "2", "--rank", "8", "--alpha", "16", "--lr", "0.003", "--threads", "2");
        Assert.True(File.Exists(adapterPath));
        var drop = summary.GetProperty("relative_drop").GetDouble();
        Assert.True(drop > 0.1, $"the tune command's held-out loss fell by only {drop:P1}");

        await using var app = InferenceHost.CreateApp(
        [
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0",
            "--Mesh:Endpoints:Http=http://127.0.0.1:0",
            "--Inference:Device=cpu",
            "--Inference:Models:0:Id=tiny",
            $"--Inference:Models:0:Path={TestModels.TinyStories656KGguf}",
            "--Inference:Models:0:ChatTemplate=chatml",
            $"--Inference:AdapterDirectory={_folder}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await app.StartAsync();
        using var channel = GrpcChannel.ForAddress(app.GetGrpcAddress());
        var client = new InferenceService.InferenceServiceClient(channel);
        await new InferenceAdminService.InferenceAdminServiceClient(channel).LoadAdapterAsync(new LoadAdapterRequest { Model = "tiny", Name = "shop", Path = "shop.gguf" });

        var example = JsonDocument.Parse(File.ReadLines(heldOutPath).First()).RootElement.GetProperty("messages");
        var question = example[0].GetProperty("content").GetString()!;
        var answer = example[1].GetProperty("content").GetString()!;
        var chat = new ChatRequest { Model = "tiny", MaxTokens = 24, Sampling = new SamplingParams { Temperature = 0 }, Stop = { "<|im_end|>" } };
        chat.Messages.Add(new V1.ChatMessage { Role = "user", Content = question });
        var plain = await ReadAsync(client.Chat(chat).ResponseStream);
        var tuned = await ReadAsync(client.Chat(new ChatRequest(chat) { Adapter = "shop" }).ResponseStream);

        var text = ChatTemplate.Resolve("chatml", null).Render([new("user", question), new("assistant", answer)], addGenerationPrompt: false);
        var baseNll = (await client.ScoreAsync(new ScoreRequest { Model = "tiny", Text = text })).Nll;
        var tunedNll = (await client.ScoreAsync(new ScoreRequest { Model = "tiny", Adapter = "shop", Text = text })).Nll;

        output.WriteLine($"Q: {question}\nreference: {answer}\nbase: {plain}\ntuned: {tuned}\nNLL of the reference exchange: base {baseNll:F2}, tuned {tunedNll:F2}");
        Assert.NotEqual(plain, tuned);
        Assert.True(tunedNll < 0.9 * baseNll, $"the tuned adapter should make the held-out exchange likelier: base {baseNll:F2}, tuned {tunedNll:F2}");
    }

    [Fact]
    public async Task AnAdapterMeshTrainedGivesLlamaCppsNll()
    {
        var (trainPath, _) = data.Subset(facts: 8);
        using var harness = new EngineHarness(TestModels.TinyStories656KGguf);
        var model = harness.Model;
        var template = ChatTemplate.Resolve("chatml", null);
        var train = ChatDataset.Read(trainPath, model.Tokenizer, template, model.Config.ContextLength);
        var trainer = new LoraTrainer(model, new LoraTrainingOptions { Rank = 4, Alpha = 8, LearningRate = 5e-3f, BatchSize = 4, Threads = 2, Seed = 3 });
        trainer.TrainEpoch(train, 1);
        var path = Path.Combine(_folder, "trained.gguf");
        trainer.Save(path, "trained");

        var tokens = train[0].Tokens;
        var mesh = -(await harness.Engine.ScoreAsync(tokens, Models.Lora.LoraAdapterFile.Read(path, "t", model.Config), CancellationToken.None)).Sum(l => (double)l);
        var llamaCpp = Reference.LlamaCppReference.Nll(TestModels.TinyStories656KGguf, tokens, path);
        var baseNll = Reference.LlamaCppReference.Nll(TestModels.TinyStories656KGguf, tokens);

        output.WriteLine($"trained adapter: Mesh {mesh:F6}, llama.cpp {llamaCpp:F6}, base {baseNll:F6}");
        Assert.True(Math.Abs(baseNll - llamaCpp) > 0.01 * baseNll, "the trained adapter should move llama.cpp's NLL");
        Assert.True(Math.Abs(mesh - llamaCpp) <= 1e-4 * llamaCpp, $"Mesh {mesh:F6}, llama.cpp {llamaCpp:F6}");
    }

    [Theory]
    [InlineData("--rank 0", "--rank must be 1 to 1024")]
    [InlineData("--targets q,x", "--targets: 'x' is not a projection")]
    [InlineData("", "the model has no chat template")]
    public void TheTuneCommandRefusesBadInputWithExitCode2(string extra, string expected)
    {
        var (trainPath, _) = data.Subset(facts: 2);
        var (code, stderr) = Run(["tune", "--model", TestModels.TinyStories656KGguf, "--data", trainPath, "--out", Path.Combine(_folder, "x.gguf"), .. extra.Split(' ', StringSplitOptions.RemoveEmptyEntries), .. extra == "" ? Array.Empty<string>() : ["--chat-template", "chatml"]]);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
        Assert.False(File.Exists(Path.Combine(_folder, "x.gguf")));
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>Runs Mesh.Inference's command line (the test's copy of it) and returns its stdout JSON.</summary>
    private JsonElement RunTune(params string[] args)
    {
        var (code, stderr, stdout) = RunWithOutput(args);
        output.WriteLine(stderr);
        Assert.True(code == 0, $"tune exited {code}: {stderr}");
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    private static (int Code, string Stderr) Run(string[] args)
    {
        var (code, stderr, _) = RunWithOutput(args);
        return (code, stderr);
    }

    private static (int Code, string Stderr, string Stdout) RunWithOutput(string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Mesh.Inference.dll"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(180_000), "tune did not finish in 3 minutes");
        return (process.ExitCode, stderr.Result, stdout);
    }

    private static async Task<string> ReadAsync(IAsyncStreamReader<GenerateResponse> stream)
    {
        var text = new System.Text.StringBuilder();
        await foreach (var message in stream.ReadAllAsync())
        {
            text.Append(message.Text);
        }

        return text.ToString();
    }
}
