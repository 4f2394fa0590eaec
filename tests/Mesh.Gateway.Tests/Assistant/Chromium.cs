using System.Diagnostics;

namespace Mesh.Gateway.Tests.Assistant;

/// <summary>
/// Headless Chromium (Debian's <c>chromium</c>, which scripts/test.sh installs) run once per call:
/// <c>--headless --no-sandbox --disable-gpu</c> plus the given arguments.
/// </summary>
public static class Chromium
{
    /// <summary>chromium or chromium-browser on PATH; null when neither is.</summary>
    public static readonly string? Executable = new[] { "chromium", "chromium-browser" }
        .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(dir => Path.Combine(dir, name)))
        .FirstOrDefault(File.Exists);

    /// <summary>Runs Chromium to its exit (at most two minutes) and returns its standard output; a non-zero exit throws with its error output.</summary>
    public static async Task<string> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo(Executable ?? throw new InvalidOperationException("no chromium on PATH"))
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (var arg in (string[])["--headless", "--no-sandbox", "--disable-gpu", .. args])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        // Both pipes are drained while it runs: Chromium logs much on stderr (no D-Bus in containers),
        // and a full pipe would stall it.
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"chromium {string.Join(' ', args)} did not finish in 2 minutes");
        }

        var output = await stdout;
        var errors = await stderr;
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"chromium {string.Join(' ', args)} exited with {process.ExitCode}: {errors[^Math.Min(errors.Length, 2000)..]}");
    }
}

/// <summary>A fact that is skipped, with the reason, where no Chromium is installed (scripts/test.sh installs it).</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (Chromium.Executable is null)
        {
            Skip = "no chromium or chromium-browser on PATH (scripts/test.sh installs Debian's chromium; `apt-get install chromium`)";
        }
    }
}
