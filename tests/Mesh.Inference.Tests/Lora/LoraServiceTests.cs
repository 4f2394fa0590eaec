using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Inference.Models.Lora;
using Mesh.Inference.Tests.Tokenization;
using Mesh.Inference.Admin.V1;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults;
using Microsoft.AspNetCore.Builder;

namespace Mesh.Inference.Tests.Lora;

/// <summary>
/// The real host on loopback with an adapter directory: adapters loaded, listed, used per request
/// (Generate, Score) and unloaded through the admin RPCs over gRPC, with the documented refusals.
/// </summary>
public sealed class LoraServiceTests : IAsyncLifetime
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-lora-svc-").FullName;
    private WebApplication? _app;
    private GrpcChannel _channel = null!;
    private InferenceService.InferenceServiceClient _client = null!;
    private InferenceAdminService.InferenceAdminServiceClient _admin = null!;

    public async Task InitializeAsync()
    {
        _app = InferenceHost.CreateApp(
        [
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0",
            "--Mesh:Endpoints:Http=http://127.0.0.1:0",
            "--Inference:Device=cpu",
            "--Inference:Models:0:Id=tiny",
            $"--Inference:Models:0:Path={TestModels.TinyStories656KGguf}",
            $"--Inference:AdapterDirectory={_folder}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await _app.StartAsync();
        _channel = GrpcChannel.ForAddress(_app.GetGrpcAddress());
        _client = new InferenceService.InferenceServiceClient(_channel);
        _admin = new InferenceAdminService.InferenceAdminServiceClient(_channel);
    }

    [Fact]
    public async Task AnAdapterLoadsServesPerRequestAndUnloads()
    {
        using (var model = Models.LlamaModel.Load(TestModels.TinyStories656KGguf))
        {
            LoraAdapterFile.WriteGguf(LoraTestAdapters.Random(model.Config, 8, 16f, 7), "llama", Path.Combine(_folder, "shop.gguf"));
        }

        var info = await _admin.LoadAdapterAsync(new LoadAdapterRequest { Model = "tiny", Name = "shop", Path = "shop.gguf" });
        Assert.Equal(("gguf", 8, 16f, 7), (info.Format, info.Rank, info.Alpha, info.Targets.Count));
        Assert.Equal(["shop"], (await _admin.ListAdaptersAsync(new ListAdaptersRequest { Model = "tiny" })).Adapters.Select(a => a.Name));

        var baseScore = await _client.ScoreAsync(new ScoreRequest { Model = "tiny", Text = "Once upon a time, there was a little girl named Lily." });
        var adapted = await _client.ScoreAsync(new ScoreRequest { Model = "tiny", Adapter = "shop", Text = "Once upon a time, there was a little girl named Lily." });
        Assert.NotEqual(baseScore.Nll, adapted.Nll);

        var request = new GenerateRequest { Model = "tiny", Prompt = "Once upon a time", MaxTokens = 12, Sampling = new SamplingParams { Temperature = 0 }, IgnoreEos = true };
        var plain = await _client.CompleteAsync(request);
        var withAdapter = await _client.CompleteAsync(new GenerateRequest(request) { Adapter = "shop" });
        Assert.NotEqual(plain.TokenIds, withAdapter.TokenIds);
        // OpenAI's form: the model field names base:adapter.
        var named = await _client.CompleteAsync(new GenerateRequest(request) { Model = "tiny:shop" });
        Assert.Equal(withAdapter.TokenIds, named.TokenIds);
        var conflict = await Assert.ThrowsAsync<RpcException>(() => _client.CompleteAsync(new GenerateRequest(request) { Model = "tiny:shop", Adapter = "other" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, conflict.StatusCode);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => _client.CompleteAsync(new GenerateRequest(request) { Model = "tiny:nope" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);

        await _admin.UnloadAdapterAsync(new UnloadAdapterRequest { Model = "tiny", Name = "shop" });
        var gone = await Assert.ThrowsAsync<RpcException>(() => _client.CompleteAsync(new GenerateRequest(request) { Adapter = "shop" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        Assert.Contains("adapter 'shop'", gone.Status.Detail);
        var again = await Assert.ThrowsAsync<RpcException>(() => _admin.UnloadAdapterAsync(new UnloadAdapterRequest { Model = "tiny", Name = "shop" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, again.StatusCode);
    }

    [Theory]
    [InlineData("tiny", "x", "../outside.gguf", StatusCode.InvalidArgument, "leaves the adapter directory")]
    [InlineData("tiny", "x", "missing.gguf", StatusCode.NotFound, "no adapter at")]
    [InlineData("tiny", "bad:name", "a.gguf", StatusCode.InvalidArgument, "adapter name")]
    [InlineData("nope", "x", "a.gguf", StatusCode.NotFound, "model 'nope'")]
    [InlineData("tiny", "x", "notadapter.gguf", StatusCode.InvalidArgument, "general.type")]
    public async Task BadLoadsAreRefusedWithTheRightStatus(string model, string name, string path, StatusCode code, string message)
    {
        // A model file is not an adapter.
        File.Copy(TestModels.TinyStories656KGguf, Path.Combine(_folder, "notadapter.gguf"), overwrite: true);
        var e = await Assert.ThrowsAsync<RpcException>(() => _admin.LoadAdapterAsync(new LoadAdapterRequest { Model = model, Name = name, Path = path }).ResponseAsync);
        Assert.Equal(code, e.StatusCode);
        Assert.Contains(message, e.Status.Detail);
        Assert.DoesNotContain(_folder, e.Status.Detail);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }
}
