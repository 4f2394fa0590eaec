using System.Diagnostics;

namespace Mesh.Inference.Tests.Training;

/// <summary>
/// The retailer Q&amp;A set made by the repository's own <c>scripts/make-retail-qa.py</c> from
/// <c>demo/retail</c> (with /usr/bin/python3), into a temporary folder removed afterwards. Line i of
/// heldout.jsonl asks the fact of lines 2i and 2i+1 of train.jsonl in a third wording.
/// </summary>
public sealed class RetailQaFixture : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-retail-qa-").FullName;

    public RetailQaFixture()
    {
        var root = RepositoryRoot();
        var start = new ProcessStartInfo("/usr/bin/python3")
        {
            ArgumentList = { Path.Combine(root, "scripts", "make-retail-qa.py"), "--data", Path.Combine(root, "demo", "retail"), "--out", _folder },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(60_000) || process.ExitCode != 0)
        {
            throw new InvalidOperationException($"make-retail-qa.py failed: {error.Result}");
        }
    }

    public string Train => Path.Combine(_folder, "train.jsonl");

    public string HeldOut => Path.Combine(_folder, "heldout.jsonl");

    /// <summary>The first <paramref name="facts"/> facts: their two training wordings and their held-out wording, as files.</summary>
    public (string Train, string HeldOut) Subset(int facts)
    {
        var train = Path.Combine(_folder, $"train-{facts}.jsonl");
        var heldOut = Path.Combine(_folder, $"heldout-{facts}.jsonl");
        File.WriteAllLines(train, File.ReadLines(Train).Take(2 * facts));
        File.WriteAllLines(heldOut, File.ReadLines(HeldOut).Take(facts));
        return (train, heldOut);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    internal static string RepositoryRoot()
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
