using Mesh.Tests.Shared;

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
        { "Mesh.Inference.dll", ["--Inference:WeightMemory=HugePagez"], "'Inference:WeightMemory' to type 'Mesh.Inference.Models.WeightMemory'. (HugePagez is not a valid value for WeightMemory.) Allowed values: Auto, HugePages, Mapped." },
        { "Mesh.Retrieval.dll", ["--Retrieval:MaxPointsPerRequest=0"], "Retrieval:MaxPointsPerRequest must be >= 1" },
        { "Mesh.Guard.dll", ["--Guard:MaxTextChars=-1"], "Guard:MaxTextChars must be > 0" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_refused_setting_stops_the_host_with_one_line_and_exit_code_1(string host, string[] args, string expected)
    {
        var result = await DotnetProcess.RunAsync(host, ["--Mesh:Endpoints:Grpc=http://127.0.0.1:0", "--Mesh:Endpoints:Http=http://127.0.0.1:0", .. args], TimeSpan.FromMinutes(2));

        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('{')).ToList();
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(lines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }
}
