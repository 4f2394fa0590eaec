namespace Mesh.Retrieval.Bench;

/// <summary>Finds the repository root: the folder holding Mesh.sln, walking up from the binary (or else the working directory).</summary>
internal static class RepoRoot
{
    public static string Find()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
                {
                    return dir.FullName;
                }
            }
        }
        throw new InvalidOperationException($"Mesh.sln not found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}.");
    }
}
