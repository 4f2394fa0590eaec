using System.Diagnostics;

namespace Mesh.Retrieval.Bench;

/// <summary>
/// The benchmark corpus: the glosses (definitions) of Debian's <c>wordnet-base</c> package, about 117,000
/// real English sentences. Installs the package with apt-get when the data files are missing.
/// </summary>
internal static class WordNetCorpus
{
    private const string DataFolder = "/usr/share/wordnet";
    private static readonly string[] DataFiles = ["data.noun", "data.verb", "data.adj", "data.adv"];

    public static IReadOnlyList<string> LoadGlosses()
    {
        EnsureInstalled();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var glosses = new List<string>();
        foreach (var file in DataFiles)
        {
            foreach (var line in File.ReadLines(Path.Combine(DataFolder, file)))
            {
                // Licence header lines start with two spaces; synset lines end with "| gloss".
                if (line.StartsWith("  ", StringComparison.Ordinal))
                {
                    continue;
                }
                var bar = line.IndexOf(" | ", StringComparison.Ordinal);
                if (bar < 0)
                {
                    continue;
                }
                var gloss = line[(bar + 3)..].Trim();
                if (gloss.Length > 0 && seen.Add(gloss))
                {
                    glosses.Add(gloss);
                }
            }
        }
        // Shortest first: the encoder pads a batch to its longest text, so batches of similar lengths
        // embed several times faster. The order is fixed, which the embedding cache relies on.
        return [.. glosses.OrderBy(g => g.Length).ThenBy(g => g, StringComparer.Ordinal)];
    }

    private static void EnsureInstalled()
    {
        if (DataFiles.All(f => File.Exists(Path.Combine(DataFolder, f))))
        {
            return;
        }
        Console.Error.WriteLine("wordnet-base not found; installing it with apt-get");
        Run("apt-get", "install -y wordnet-base");
        if (!DataFiles.All(f => File.Exists(Path.Combine(DataFolder, f))))
        {
            Run("apt-get", "update");
            Run("apt-get", "install -y wordnet-base");
        }
        if (!DataFiles.All(f => File.Exists(Path.Combine(DataFolder, f))))
        {
            throw new InvalidOperationException($"wordnet-base is not installed and apt-get could not install it; install it and look for {DataFolder}/data.noun.");
        }
    }

    private static void Run(string file, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(file, arguments) { UseShellExecute = false })
            ?? throw new InvalidOperationException($"Could not start {file}.");
        process.WaitForExit();
    }
}
