using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Inference.Admin.V1;
using Mesh.Inference.Chat;
using Mesh.Inference.Tests.Tokenization;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Xunit.Abstractions;

namespace Mesh.Inference.Tests.Training;

/// <summary>
/// The tuning job RPCs over real gRPC loopback against the real host serving TinyStories-656K: a job on a
/// small slice of the retailer set is watched to success with its progress, after which Chat and Score
/// take the adapter by its name; a long job refuses a second one (RESOURCE_EXHAUSTED) and is cancelled
/// without writing or serving anything; bad requests get INVALID_ARGUMENT or NOT_FOUND naming the problem.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class TuningJobTests(RetailQaFixture data, ITestOutputHelper output) : IClassFixture<RetailQaFixture>, IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-tune-job-").FullName;
    private WebApplication _app = null!;
    private GrpcChannel _channel = null!;
    private InferenceAdminService.InferenceAdminServiceClient _admin = null!;

    public Task InitializeAsync() => StartReplicaAsync();

    /// <summary>Starts the host over <see cref="_folder"/> (again, after a restart) and connects the admin client.</summary>
    private async Task StartReplicaAsync()
    {
        _app = InferenceHost.CreateApp(
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
        await _app.StartAsync();
        _channel = GrpcChannel.ForAddress(_app.GetGrpcAddress());
        _admin = new InferenceAdminService.InferenceAdminServiceClient(_channel);
    }

    [Fact]
    public async Task AJobReportsProgressThenServesItsAdapter()
    {
        var (trainPath, heldOutPath) = data.Subset(facts: 16);
        var request = new CreateTuningJobRequest
        {
            Model = "tiny", Adapter = "shop", TrainingData = File.ReadAllText(trainPath), ValidationData = File.ReadAllText(heldOutPath),
            Hyperparameters = new TuningHyperparameters { Rank = 8, Alpha = 16, LearningRate = 3e-3f, Epochs = 2, BatchSize = 8, Threads = 2, Seed = 1 },
        };
        var created = await _admin.CreateTuningJobAsync(request);
        Assert.Matches("^tune-[0-9a-f]{24}$", created.Id);
        Assert.Equal((TuningJobStatus.Queued, 2, 4, 32L), (created.Status, created.Epochs, created.Steps, created.TrainingExamples));

        var updates = await WatchAsync(created.Id);
        var last = updates[^1];
        output.WriteLine(string.Join("\n", updates.Select(u => $"{u.Status} epoch {u.Epoch}/{u.Epochs} step {u.Step}/{u.Steps} loss {u.Loss:F4} {u.TokensPerSecond:F0} tokens/s held-out {(u.HasValidationLossBefore ? u.ValidationLossBefore : double.NaN):F4} → {(u.HasValidationLoss ? u.ValidationLoss : double.NaN):F4}")));
        Assert.Equal(TuningJobStatus.Succeeded, last.Status);
        Assert.Equal("", last.Error);
        // Progress only moves forward (a watcher sees the latest state at each wake, so it may skip steps) and ends at the last step.
        var positions = updates.Select(u => (u.Epoch * 1000) + u.Step).ToList();
        Assert.Equal(positions.Order(), positions);
        Assert.Equal((2, 4), (last.Epoch, last.Step));
        Assert.All(updates.Where(u => u.Step > 0), u => Assert.True(u.Loss > 0 && u.TokensPerSecond > 0));
        Assert.True(last.ValidationLoss < 0.9 * last.ValidationLossBefore, $"held-out loss {last.ValidationLossBefore:F4} → {last.ValidationLoss:F4}");
        Assert.True(last.TrainedTokens > 0 && last.FinishedAt >= last.CreatedAt);
        Assert.Equal(TuningJobStatus.Succeeded, (await _admin.GetTuningJobAsync(new GetTuningJobRequest { Id = created.Id })).Status);
        Assert.True(File.Exists(Path.Combine(_folder, "shop.gguf")));
        Assert.Contains("shop", (await _admin.ListAdaptersAsync(new ListAdaptersRequest { Model = "tiny" })).Adapters.Select(a => a.Name));

        // Served at once under the job's adapter name.
        var client = new InferenceService.InferenceServiceClient(_channel);
        var line = System.Text.Json.JsonDocument.Parse(File.ReadLines(heldOutPath).First()).RootElement.GetProperty("messages");
        var chat = new ChatRequest { Model = "tiny", Adapter = "shop", MaxTokens = 16, Sampling = new SamplingParams { Temperature = 0 } };
        chat.Messages.Add(new V1.ChatMessage { Role = "user", Content = line[0].GetProperty("content").GetString() });
        var answer = new System.Text.StringBuilder();
        await foreach (var message in client.Chat(chat).ResponseStream.ReadAllAsync())
        {
            answer.Append(message.Text);
        }

        var text = ChatTemplate.Resolve("chatml", null).Render([new("user", line[0].GetProperty("content").GetString()!), new("assistant", line[1].GetProperty("content").GetString()!)], addGenerationPrompt: false);
        var baseNll = (await client.ScoreAsync(new ScoreRequest { Model = "tiny", Text = text })).Nll;
        var tunedNll = (await client.ScoreAsync(new ScoreRequest { Model = "tiny", Adapter = "shop", Text = text })).Nll;
        output.WriteLine($"tuned answer: {answer}\nNLL of a held-out exchange: base {baseNll:F2}, tuned {tunedNll:F2}");
        Assert.NotEqual("", answer.ToString());
        Assert.True(tunedNll < baseNll, $"base {baseNll:F2}, tuned {tunedNll:F2}");
    }

    [Fact]
    public async Task ASecondJobIsRefusedAndACancelledJobServesNothing()
    {
        var (trainPath, _) = data.Subset(facts: 8);
        File.Copy(trainPath, Path.Combine(_folder, "train.jsonl"));
        var request = new CreateTuningJobRequest
        {
            Model = "tiny", Adapter = "long", TrainingFile = "train.jsonl",
            Hyperparameters = new TuningHyperparameters { Epochs = 10_000, BatchSize = 2, Threads = 1 },
        };
        var job = await _admin.CreateTuningJobAsync(request);

        var busy = await Assert.ThrowsAsync<RpcException>(() => _admin.CreateTuningJobAsync(new CreateTuningJobRequest(request) { Adapter = "other" }).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, busy.StatusCode);
        Assert.Contains(job.Id, busy.Status.Detail);

        // Cancel once it has taken a step, then watch it end.
        using var watch = _admin.WatchTuningJob(new GetTuningJobRequest { Id = job.Id }, deadline: DateTime.UtcNow.AddMinutes(3));
        var cancelled = false;
        var last = job;
        await foreach (var update in watch.ResponseStream.ReadAllAsync())
        {
            last = update;
            if (!cancelled && update.Step > 0)
            {
                Assert.Equal(TuningJobStatus.Running, update.Status);
                await _admin.CancelTuningJobAsync(new CancelTuningJobRequest { Id = job.Id });
                cancelled = true;
            }
        }

        Assert.Equal(TuningJobStatus.Cancelled, last.Status);
        Assert.True(last.Epoch < 10_000);
        Assert.False(File.Exists(Path.Combine(_folder, "long.gguf")));
        Assert.Single(Directory.GetFiles(_folder)); // train.jsonl only: no temporary file left
        Assert.DoesNotContain("long", (await _admin.ListAdaptersAsync(new ListAdaptersRequest { Model = "tiny" })).Adapters.Select(a => a.Name));

        // Cancelling a finished job changes nothing; the replica takes a new job again.
        Assert.Equal(TuningJobStatus.Cancelled, (await _admin.CancelTuningJobAsync(new CancelTuningJobRequest { Id = job.Id })).Status);
        var next = await _admin.CreateTuningJobAsync(new CreateTuningJobRequest(request) { Hyperparameters = new TuningHyperparameters { Epochs = 1, Threads = 1 } });
        Assert.Equal(TuningJobStatus.Succeeded, (await WatchAsync(next.Id))[^1].Status);
    }

    [Fact]
    public async Task JobsOutliveARestartAndOneThatWasRunningThenIsFailed()
    {
        var (trainPath, _) = data.Subset(facts: 2);
        var done = await _admin.CreateTuningJobAsync(new CreateTuningJobRequest
        {
            Model = "tiny", Adapter = "kept", TrainingData = File.ReadAllText(trainPath),
            Hyperparameters = new TuningHyperparameters { Epochs = 1, BatchSize = 4, Threads = 1, Seed = 1 },
        });
        var finished = (await WatchAsync(done.Id))[^1];
        Assert.Equal(TuningJobStatus.Succeeded, finished.Status);

        // The process dies while a job runs (its record says running); a stray and a corrupt file lie beside.
        await _channel.ShutdownAsync();
        await _app.DisposeAsync();
        var records = Path.Combine(_folder, ".tuning-jobs");
        var interrupted = new TuningJob(finished) { Id = "tune-" + new string('a', 24), Adapter = "lost", Status = TuningJobStatus.Running, Error = "", FinishedAt = 0, CreatedAt = finished.CreatedAt + 1 };
        await File.WriteAllBytesAsync(Path.Combine(records, interrupted.Id + ".pb"), Google.Protobuf.MessageExtensions.ToByteArray(interrupted));
        await File.WriteAllBytesAsync(Path.Combine(records, "tune-" + new string('b', 24) + ".pb"), [0xff, 0xff, 0xff, 0x0f, 0x42]);
        await File.WriteAllBytesAsync(Path.Combine(records, "tune-" + new string('c', 24) + ".pb"), Google.Protobuf.MessageExtensions.ToByteArray(new TuningJob(finished) { Id = "tune-other" }));

        await StartReplicaAsync();
        Assert.Equal(finished, await _admin.GetTuningJobAsync(new GetTuningJobRequest { Id = done.Id }));
        var failed = await _admin.GetTuningJobAsync(new GetTuningJobRequest { Id = interrupted.Id });
        Assert.Equal(TuningJobStatus.Failed, failed.Status);
        Assert.Contains("the replica stopped while the job was running", failed.Error);
        Assert.True(failed.FinishedAt >= failed.CreatedAt);
        Assert.Equal(TuningJobStatus.Failed, TuningJob.Parser.ParseFrom(await File.ReadAllBytesAsync(Path.Combine(records, interrupted.Id + ".pb"))).Status);
        var stray = await Assert.ThrowsAsync<RpcException>(() => _admin.GetTuningJobAsync(new GetTuningJobRequest { Id = "tune-other" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, stray.StatusCode);
    }

    [Theory]
    [InlineData("rank", StatusCode.InvalidArgument, "hyperparameters.rank must be 1 to 1024")]
    [InlineData("rank-limit", StatusCode.InvalidArgument, "rank 200 is larger than the Query projection allows")]
    [InlineData("targets", StatusCode.InvalidArgument, "targets: 'x' is not a projection")]
    [InlineData("lr", StatusCode.InvalidArgument, "hyperparameters.learning_rate must be in (0, 1)")]
    [InlineData("both", StatusCode.InvalidArgument, "give exactly one of training_file")]
    [InlineData("bad-line", StatusCode.InvalidArgument, "training_data line 2:")]
    [InlineData("escape", StatusCode.InvalidArgument, "training_file '../x.jsonl' leaves the adapter directory")]
    [InlineData("missing", StatusCode.NotFound, "no dataset at 'nope.jsonl'")]
    [InlineData("name", StatusCode.InvalidArgument, "adapter 'a b' is invalid")]
    [InlineData("model", StatusCode.NotFound, "model 'nope' is not loaded here")]
    public async Task BadRequestsAreRefusedWithTheirReason(string what, StatusCode code, string expected)
    {
        var (trainPath, _) = data.Subset(facts: 2);
        var request = new CreateTuningJobRequest { Model = "tiny", Adapter = "bad", TrainingData = File.ReadAllText(trainPath), Hyperparameters = new TuningHyperparameters() };
        switch (what)
        {
            case "rank": request.Hyperparameters.Rank = -1; break;
            case "rank-limit": request.Hyperparameters.Rank = 200; break;
            case "targets": request.Hyperparameters.Targets.Add("x"); break;
            case "lr": request.Hyperparameters.LearningRate = 2; break;
            case "both": request.TrainingFile = "train.jsonl"; break;
            case "bad-line": request.TrainingData = File.ReadLines(trainPath).First() + "\n{\"messages\": 3}\n"; break;
            case "escape": (request.TrainingData, request.TrainingFile) = ("", "../x.jsonl"); break;
            case "missing": (request.TrainingData, request.TrainingFile) = ("", "nope.jsonl"); break;
            case "name": request.Adapter = "a b"; break;
            case "model": request.Model = "nope"; break;
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => _admin.CreateTuningJobAsync(request).ResponseAsync);
        output.WriteLine($"{error.StatusCode}: {error.Status.Detail}");
        Assert.Equal(code, error.StatusCode);
        Assert.Contains(expected, error.Status.Detail);
        Assert.DoesNotContain(_folder, error.Status.Detail);
    }

    [Fact]
    public async Task AnUnknownJobIsNotFound()
    {
        var get = await Assert.ThrowsAsync<RpcException>(() => _admin.GetTuningJobAsync(new GetTuningJobRequest { Id = "tune-0" }).ResponseAsync);
        var cancel = await Assert.ThrowsAsync<RpcException>(() => _admin.CancelTuningJobAsync(new CancelTuningJobRequest { Id = "tune-0" }).ResponseAsync);
        Assert.Equal((StatusCode.NotFound, StatusCode.NotFound), (get.StatusCode, cancel.StatusCode));
        Assert.Contains("no tuning job 'tune-0'", get.Status.Detail);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _app.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>Every update of the job's watch stream until it finishes (3 minutes at most).</summary>
    private async Task<List<TuningJob>> WatchAsync(string id)
    {
        using var watch = _admin.WatchTuningJob(new GetTuningJobRequest { Id = id }, deadline: DateTime.UtcNow.AddMinutes(3));
        var updates = new List<TuningJob>();
        await foreach (var update in watch.ResponseStream.ReadAllAsync())
        {
            updates.Add(update);
        }

        return updates;
    }
}
