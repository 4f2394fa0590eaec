using System.Diagnostics;

namespace Mesh.Gateway.Tests;

/// <summary>
/// A host given a setting it refuses stops at start with one line naming the setting and exit code 1,
/// not an unhandled exception (exit 134 and a stack trace). Each host runs as its own process, as an
/// operator starts it.
/// </summary>
public sealed class HostStartupTests
{
    public static TheoryData<string, string[], string> Refused => new()
    {
        { "Mesh.Gateway.dll", ["--Gateway:ApiKeys:ops:Sha256=plain-text-key", "--Gateway:ApiKeys:ops:Tenant=acme"], "Gateway:ApiKeys:ops:Sha256 must be the 64-digit hex SHA-256" },
        { "Mesh.Gateway.dll", ["--Gateway:ApiKeys:ops:Sha256=" + new string('a', 64), "--Gateway:ApiKeys:ops:Tenant=acme", "--Gateway:ApiKeys:ops:RequestsPerSecond=lots"], "'lots' at 'Gateway:ApiKeys:ops:RequestsPerSecond' to type 'System.Int32'" },
        { "Mesh.Inference.dll", ["--Inference:KvCacheMb=0"], "Inference:KvCacheMb must be > 0" },
        { "Mesh.Retrieval.dll", ["--Retrieval:MaxPointsPerRequest=0"], "Retrieval:MaxPointsPerRequest must be >= 1" },
        { "Mesh.Guard.dll", ["--Guard:MaxTextChars=-1"], "Guard:MaxTextChars must be > 0" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_refused_setting_stops_the_host_with_one_line_and_exit_code_1(string host, string[] args, string expected)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, host), "--Mesh:Endpoints:Grpc=http://127.0.0.1:0", "--Mesh:Endpoints:Http=http://127.0.0.1:0", .. args])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var lines = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('{')).ToList();
        Assert.Equal(1, process.ExitCode);
        var line = Assert.Single(lines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", await stdout + await stderr, StringComparison.Ordinal);
    }
}
