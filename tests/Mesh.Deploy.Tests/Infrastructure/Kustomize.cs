using System.Diagnostics;

namespace Mesh.Deploy.Tests.Infrastructure;

/// <summary>
/// Runs <c>kustomize build</c>: the binary scripts/install-kustomize.sh puts under .tools/ (Debian
/// trixie's 5.6, what CI uses), else <c>kustomize</c> on PATH, else <c>kubectl kustomize</c>.
/// </summary>
public static class Kustomize
{
    /// <summary>The command line prefix that builds a kustomization, or null when no tool is found.</summary>
    public static IReadOnlyList<string>? Command { get; } = Find();

    /// <summary>Why the tests that need kustomize are skipped; null when it is there.</summary>
    public static string? MissingReason => Command is null
        ? "no kustomize: run scripts/install-kustomize.sh (scripts/test.sh does) or install kubectl"
        : null;

    /// <summary>Renders the kustomization in <paramref name="directory"/>; throws with kustomize's error on failure.</summary>
    public static string Build(string directory)
    {
        var (code, stdout, stderr) = Run(directory);
        if (code != 0)
        {
            throw new KustomizeException($"kustomize build {directory} failed ({code}): {stderr.Trim()}");
        }

        return stdout;
    }

    /// <summary>Runs the build and returns its exit code and both streams.</summary>
    public static (int Code, string Stdout, string Stderr) Run(string directory)
    {
        var command = Command ?? throw new InvalidOperationException(MissingReason);
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in command.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        start.ArgumentList.Add(directory);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kustomize build {directory} ran for over a minute");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string[]? Find()
    {
        var installed = Path.Combine(RepoPaths.Root, ".tools", "kustomize", "bin", "kustomize");
        if (File.Exists(installed))
        {
            return [installed, "build"];
        }

        if (OnPath("kustomize") is { } onPath)
        {
            return [onPath, "build"];
        }

        return OnPath("kubectl") is { } kubectl ? [kubectl, "kustomize"] : null;
    }

    private static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}

/// <summary>kustomize refused to build a kustomization.</summary>
public sealed class KustomizeException(string message) : Exception(message);

/// <summary>A fact that is skipped, with the reason, where no kustomize can be found.</summary>
public sealed class KustomizeFactAttribute : FactAttribute
{
    public KustomizeFactAttribute() => Skip = Kustomize.MissingReason;
}

/// <summary>A theory that is skipped, with the reason, where no kustomize can be found.</summary>
public sealed class KustomizeTheoryAttribute : TheoryAttribute
{
    public KustomizeTheoryAttribute() => Skip = Kustomize.MissingReason;
}
