using System.Diagnostics;

namespace Mesh.Tests.Shared;

/// <summary>What a process run by <see cref="DotnetProcess.RunAsync"/> ended with: its exit code and all it wrote.</summary>
internal sealed record ProcessResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Runs one of Mesh's assemblies (a host or the CLI) as its own process with <c>dotnet</c>, as a user or
/// an operator runs it, and collects what it wrote: for tests of command lines and start-up refusals.
/// A linked file (<c>tests/Shared</c>) compiled into each test project that needs it, so that no test
/// project depends on another.
/// </summary>
internal static class DotnetProcess
{
    /// <summary>
    /// Runs <c>dotnet ASSEMBLY ARGS…</c> with the test output folder as the working directory and the
    /// assembly taken from it, <paramref name="environment"/> applied over the test's own (a null value
    /// unsets the variable); reads standard output and error to their ends and waits for the exit.
    /// Past <paramref name="timeout"/> the process tree is killed and <see cref="OperationCanceledException"/> thrown.
    /// </summary>
    /// <param name="assembly">The file name in the test output folder, such as <c>Mesh.Inference.dll</c>.</param>
    public static async Task<ProcessResult> RunAsync(string assembly, IEnumerable<string> args, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }
}
