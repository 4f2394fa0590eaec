namespace Mesh.Deploy.Tests.Infrastructure;

/// <summary>Where the repository is, found from the test's output folder.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Mesh.sln above {AppContext.BaseDirectory}.");
    }
}
