namespace Mesh.Retrieval.Bench;

/// <summary>Finds the repository root: the folder holding Mesh.sln, walking up from the binary.</summary>
internal static class RepoRoot
{
    public static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Mesh.sln not found above " + AppContext.BaseDirectory);
    }
}
