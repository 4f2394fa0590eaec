using k8s;

namespace Mesh.Deploy.Tests.Infrastructure;

/// <summary>
/// A copy of the repository's k8s/ in a temporary folder with the secret files a user creates
/// (k8s/base/secrets/*, git-ignored) made from the committed samples, as k8s/README.md says to.
/// The repository's own tree is never written.
/// </summary>
public sealed class K8sTree : IDisposable
{
    /// <summary>The copied k8s/ folder.</summary>
    public string Root { get; }

    public K8sTree(bool withSecrets = true)
    {
        Root = Path.Combine(Path.GetTempPath(), "mesh-k8s-" + Guid.NewGuid().ToString("N"));
        var source = Path.Combine(RepoPaths.Root, "k8s");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.StartsWith(Path.Combine("base", "secrets"), StringComparison.Ordinal) && !file.EndsWith(".sample", StringComparison.Ordinal))
            {
                continue;   // a developer's own secrets in their checkout are not the test's input
            }

            var target = Path.Combine(Root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        if (withSecrets)
        {
            var secrets = Path.Combine(Root, "base", "secrets");
            File.WriteAllText(Path.Combine(secrets, "tenant-signing-key"), TenantSigningKey);
            File.Copy(Path.Combine(secrets, "api-keys.env.sample"), Path.Combine(secrets, "api-keys.env"));
        }
    }

    /// <summary>The signing key written into the tree (random per tree, as `openssl rand` would make it).</summary>
    public string TenantSigningKey { get; } = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>Builds an overlay (<c>cpu</c>, <c>gpu</c>) and reads every object into its typed model.</summary>
    public IReadOnlyList<IKubernetesObject> Render(string overlay) =>
        Manifests.ReadStrict(Kustomize.Build(Path.Combine(Root, "overlays", overlay)));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp folder is harmless
        }
    }
}
