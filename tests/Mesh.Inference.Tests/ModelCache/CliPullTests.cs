using Mesh.Inference.ModelCache;
using Mesh.Inference.Tests.Tokenization;
using Mesh.Tests.Shared;

namespace Mesh.Inference.Tests.ModelCache;

/// <summary>The <c>pull</c>, <c>list</c>, <c>rm</c> and <c>generate --model hf:…</c> commands as separate processes against a Hub on loopback.</summary>
public sealed class CliPullTests : IAsyncLifetime
{
    private readonly string _home = Directory.CreateTempSubdirectory("mesh-cache-").FullName;
    private FakeHub _hub = null!;

    public async Task InitializeAsync() => _hub = await FakeHub.StartAsync();

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        Directory.Delete(_home, recursive: true);
    }

    [Fact]
    public async Task Two_processes_pulling_one_model_at_once_fetch_it_once()
    {
        var bytes = FakeHub.RandomBytes(600_000, 20);
        _hub.AddRepo("org/shared", new Dictionary<string, byte[]> { ["m-Q8_0.gguf"] = bytes });
        _hub.ContentGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var first = Run("pull", "hf:org/shared:Q8_0");
        var second = Run("pull", "hf:org/shared:Q8_0");
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            while (_hub.ApiRequests < 2)
            {
                await Task.Delay(20, timeout.Token);
            }
        }

        _hub.ContentGate.SetResult();
        var results = await Task.WhenAll(first, second);

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Stderr));
        Assert.Single(_hub.ContentRequests, r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal));
        Assert.Equal(bytes.Length, _hub.BytesServed);
        Assert.Equal(results[0].Stdout.Trim(), results[1].Stdout.Trim());
        Assert.Equal(bytes, File.ReadAllBytes(results[0].Stdout.Trim()));

        var list = await Run("list");
        Assert.Contains("hf:org/shared@main", list.Stdout);
        Assert.Contains("m-Q8_0.gguf  585.9 KiB", list.Stdout);

        var rm = await Run("rm", "hf:org/shared");
        Assert.Equal(0, rm.ExitCode);
        Assert.Contains("585.9 KiB freed", rm.Stderr);
    }

    [Fact]
    public async Task Pull_offline_exits_1_with_one_clear_line_and_no_request()
    {
        var result = await Run("pull", "--offline", "hf:org/absent:Q4_K_M");

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("error: offline (--offline): hf:org/absent:Q4_K_M is not in the cache at ", result.Stderr);
        Assert.Single(result.Stderr.Trim().Split('\n'));
        Assert.Equal(0, _hub.ApiRequests);
    }

    [Fact]
    public async Task Generate_by_reference_pulls_stories260K_from_the_hub_and_decodes_llama2c_reference_text()
    {
        var dir = Path.GetDirectoryName(TestModels.Stories260KTokenizer)!;
        _hub.AddRepo("karpathy/tinyllamas", new Dictionary<string, byte[]>
        {
            ["stories260K/stories260K.bin"] = File.ReadAllBytes(Path.Combine(dir, "stories260K.bin")),
            ["stories260K/tok512.bin"] = File.ReadAllBytes(Path.Combine(dir, "tok512.bin")),
        });

        var tokenizer = await Run("pull", "hf:karpathy/tinyllamas:stories260K/tok512.bin#sha256=037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312");
        Assert.True(tokenizer.ExitCode == 0, tokenizer.Stderr);
        var generated = await Run("generate", "--model", "hf:karpathy/tinyllamas:stories260K/stories260K.bin", "--device", "cpu", "--temperature", "0", "--max-tokens", "20");

        Assert.True(generated.ExitCode == 0, generated.Stderr);
        Assert.StartsWith("Once upon a time, there was a little girl named Lily.", generated.Stdout);
        Assert.Contains("Fetching karpathy/tinyllamas/stories260K/stories260K.bin", generated.Stderr);

        // Offline, the same reference loads from the cache without the hub.
        var requests = _hub.ApiRequests;
        var offline = await Run("generate", "--offline", "--model", "hf:karpathy/tinyllamas:stories260K/stories260K.bin", "--device", "cpu", "--temperature", "0", "--max-tokens", "5");
        Assert.True(offline.ExitCode == 0, offline.Stderr);
        Assert.Equal(requests, _hub.ApiRequests);
    }

    private Task<ProcessResult> Run(params string[] args) => DotnetProcess.RunAsync("Mesh.Inference.dll", args, TimeSpan.FromMinutes(3), new Dictionary<string, string?>
    {
        ["MESH_HOME"] = _home,
        ["HF_ENDPOINT"] = _hub.Endpoint.ToString(),
        ["MESH_OFFLINE"] = null,
        ["HF_HUB_OFFLINE"] = null,
        ["HF_TOKEN"] = null,
    });
}
