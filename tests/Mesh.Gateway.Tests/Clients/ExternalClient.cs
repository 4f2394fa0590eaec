using System.Diagnostics;
using System.Text.Json;
using Mesh.Gateway.Tests.Infrastructure;

namespace Mesh.Gateway.Tests.Clients;

/// <summary>
/// Runs one of the clients under clients/ (Python, Node) as a user would, against the test gateway,
/// and reads the JSON line it prints. Finding the tools is done once, at test discovery, so a
/// machine without them skips the test with the reason; scripts/test.sh installs them, so CI runs it.
/// </summary>
public static class ExternalClient
{
    /// <summary>Why the Python client cannot run here, or null.</summary>
    public static string? PythonMissing { get; } = FindPythonMissing();

    /// <summary>Why the Node client cannot run here, or null.</summary>
    public static string? NodeMissing { get; } = FindNodeMissing();

    /// <summary>Runs a program with the gateway's address and a key in the environment; returns its last line as JSON.</summary>
    public static JsonElement Run(string program, IEnumerable<string> args, Uri gateway, string apiKey, IDictionary<string, string>? env = null)
    {
        var last = RunText(program, args, gateway, apiKey, env).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Last();
        return JsonDocument.Parse(last).RootElement.Clone();
    }

    /// <summary>Runs a program with the gateway's address and a key in the environment; returns its standard output.</summary>
    public static string RunText(string program, IEnumerable<string> args, Uri gateway, string apiKey, IDictionary<string, string>? env = null)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoPaths.Root };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["MESH_ADDRESS"] = $"{gateway.Host}:{gateway.Port}";
        start.Environment["MESH_API_KEY"] = apiKey;
        foreach (var (name, value) in env ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var (code, stdout, stderr) = RunToEnd(start, TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"{program} {string.Join(' ', args)} exited {code}:\n{stderr}\n{stdout}");
        return stdout;
    }

    /// <summary>Runs a process to its end within a limit (killed past it) and returns its exit code and output.</summary>
    public static (int Code, string Stdout, string Stderr) RunToEnd(ProcessStartInfo start, TimeSpan limit)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{start.FileName} ran past {limit}");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string? FindPythonMissing()
    {
        if (!File.Exists("/usr/bin/python3"))
        {
            return "no /usr/bin/python3";
        }

        foreach (var tool in new[] { "protoc", "grpc_python_plugin" })
        {
            if (OnPath(tool) is null)
            {
                return $"no {tool}: apt-get install protobuf-compiler protobuf-compiler-grpc (scripts/install-client-tools.sh)";
            }
        }

        var (code, _, _) = RunToEnd(new ProcessStartInfo("/usr/bin/python3") { ArgumentList = { "-c", "import grpc, google.protobuf" } }, TimeSpan.FromSeconds(30));
        return code == 0 ? null : "python3 cannot import grpc: apt-get install python3-grpcio python3-protobuf (scripts/install-client-tools.sh)";
    }

    private static string? FindNodeMissing()
    {
        if (OnPath("node") is null)
        {
            return "no node on PATH";
        }

        return Directory.Exists(Path.Combine(RepoPaths.Root, "clients", "node", "node_modules", "@grpc", "grpc-js"))
            ? null
            : "clients/node has no node_modules: run `npm ci` there (scripts/install-client-tools.sh)";
    }

    internal static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}

/// <summary>A fact skipped, with the reason, where the Python client's tools are missing.</summary>
public sealed class PythonClientFactAttribute : FactAttribute
{
    public PythonClientFactAttribute() => Skip = ExternalClient.PythonMissing;
}

/// <summary>A fact skipped, with the reason, where the Node client's tools are missing.</summary>
public sealed class NodeClientFactAttribute : FactAttribute
{
    public NodeClientFactAttribute() => Skip = ExternalClient.NodeMissing;
}
