using System.Diagnostics;
using Mesh.Inference.Tests.Tokenization;
using Xunit.Abstractions;

namespace Mesh.Inference.Tests.ModelCache;

/// <summary>Runs only when <c>MESH_RUN_DEMO=1</c>: the demo builds and starts the whole mesh, minutes of a shared machine.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class DemoFactAttribute : FactAttribute
{
    /// <summary>Skips unless <c>MESH_RUN_DEMO=1</c>.</summary>
    public DemoFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("MESH_RUN_DEMO") != "1")
        {
            Skip = "builds and runs the whole mesh (scripts/demo.sh); set MESH_RUN_DEMO=1 to run it";
        }
    }
}

/// <summary>
/// A fresh machine: no <c>../shared/models</c> (hidden with <c>MESH_SHARED_MODELS=/nonexistent</c>), an
/// empty model cache, and the Hugging Face Hub simulated on loopback (<c>HF_ENDPOINT</c>) serving
/// karpathy/tinyllamas' stories260K files from ../shared/models. <c>scripts/demo.sh</c> must pull the
/// files models.lock pins, serve them by reference, and run end to end.
/// </summary>
public sealed class DemoWithoutSharedModelsTests(ITestOutputHelper output)
{
    [DemoFact]
    public async Task The_demo_runs_end_to_end_with_its_model_pulled_from_a_simulated_hub()
    {
        await using var hub = await FakeHub.StartAsync();
        var dir = Path.GetDirectoryName(TestModels.Stories260KTokenizer)!;
        hub.AddRepo("karpathy/tinyllamas", new Dictionary<string, byte[]>
        {
            ["stories260K/stories260K.bin"] = File.ReadAllBytes(Path.Combine(dir, "stories260K.bin")),
            ["stories260K/tok512.bin"] = File.ReadAllBytes(Path.Combine(dir, "tok512.bin")),
            ["stories15M.bin"] = FakeHub.RandomBytes(1000, 1),
        });
        var root = RepositoryRoot();
        var temp = Directory.CreateTempSubdirectory("mesh-demo-").FullName;
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        start.ArgumentList.Add("scripts/demo.sh");
        start.Environment["MESH_SHARED_MODELS"] = "/nonexistent";
        start.Environment["HF_ENDPOINT"] = hub.Endpoint.ToString();
        start.Environment["MESH_HOME"] = Path.Combine(temp, "cache");
        start.Environment["MESH_STATE"] = Path.Combine(temp, "state");
        start.Environment["MESH_OFFLINE"] = null;
        start.Environment["HF_HUB_OFFLINE"] = null;
        foreach (var (name, port) in new[] { ("GATEWAY_GRPC", 19080), ("GATEWAY_HTTP", 19081), ("INFERENCE", 19051), ("RETRIEVAL", 19052), ("GUARD", 19053), ("INFERENCE_HTTP", 19061), ("RETRIEVAL_HTTP", 19062), ("GUARD_HTTP", 19063) })
        {
            start.Environment[$"MESH_{name}_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        using var process = Process.Start(start)!;
        var lines = new List<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (lines) { lines.Add(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (lines) { lines.Add(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        process.WaitForExit();
        var text = string.Join('\n', lines);
        output.WriteLine(text);
        await File.WriteAllTextAsync(Path.Combine(temp, "demo.log"), text);
        Assert.True(process.ExitCode == 0, text);
        Assert.Contains("model stories260K: hf:karpathy/tinyllamas:stories260K/stories260K.bin", text);
        Assert.Contains("Mesh is up (model stories260K", text);
        Assert.Contains("== 4. A card number", text);
        Assert.Contains("done:", text);
        // Each of the two pinned files came from the hub exactly once; nothing else was fetched.
        var expected = new[] { "stories260K.bin", "tok512.bin" }.Select(f => "/cdn/" + FakeHub.Sha256(File.ReadAllBytes(Path.Combine(dir, f)))).Order(StringComparer.Ordinal);
        var fetched = hub.ContentRequests.Where(r => r.Path.StartsWith("/cdn/", StringComparison.Ordinal)).Select(r => r.Path).Order(StringComparer.Ordinal);
        Assert.Equal(expected, fetched);
        Directory.Delete(Path.Combine(temp, "cache"), recursive: true);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("no Mesh.sln above the test binaries");
    }
}
