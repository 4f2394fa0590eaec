using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using k8s.Models;
using Mesh.Deploy.Tests.Infrastructure;

namespace Mesh.Deploy.Tests;

/// <summary>
/// The container images the SDK builds (src/Containers.targets): chiseled non-root base, the ports
/// and listen addresses the Kubernetes manifests use. The settings are read from MSBuild (no
/// network); building and inspecting an image archive needs the base image from mcr.microsoft.com
/// and is skipped, with that reason, where the registry cannot be reached.
/// </summary>
public sealed class ContainerImageTests : IDisposable
{
    public static TheoryData<string, string> Services() => new()
    {
        { "gateway", "Gateway" }, { "inference", "Inference" }, { "retrieval", "Retrieval" }, { "guard", "Guard" },
    };

    private readonly K8sTree _tree = new();

    [KustomizeTheory]
    [MemberData(nameof(Services))]
    public void The_image_settings_match_the_manifests_ports_and_run_as_the_non_root_app_user(string name, string project)
    {
        var settings = JsonDocument.Parse(Run("dotnet", "msbuild", Project(project), "-getProperty:ContainerRepository",
            "-getProperty:ContainerBaseImage", "-getProperty:ContainerUser", "-getItem:ContainerPort", "-getItem:ContainerEnvironmentVariable")).RootElement;
        var properties = settings.GetProperty("Properties");
        Assert.Equal($"mesh/{name}", properties.GetProperty("ContainerRepository").GetString());
        Assert.Contains("chiseled", properties.GetProperty("ContainerBaseImage").GetString(), StringComparison.Ordinal);
        Assert.Equal("app", properties.GetProperty("ContainerUser").GetString());

        var pod = Assert.Single(Workloads.PodTemplates(_tree.Render("cpu")), w => w.Name == name).Pod;
        var server = pod.Spec.Containers[0];
        var ports = settings.GetProperty("Items").GetProperty("ContainerPort").EnumerateArray().Select(p => int.Parse(p.GetProperty("Identity").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(server.Ports.Select(p => p.ContainerPort).Order(), ports.Order());
        var env = settings.GetProperty("Items").GetProperty("ContainerEnvironmentVariable").EnumerateArray()
            .ToDictionary(e => e.GetProperty("Identity").GetString()!, e => e.GetProperty("Value").GetString()!);
        var grpcPort = Assert.Single(server.Ports, p => p.Name == "grpc").ContainerPort;
        Assert.Equal($"http://0.0.0.0:{grpcPort}", env["Mesh__Endpoints__Grpc"]);
    }

    [ImageBuildTheory]
    [MemberData(nameof(Services))]
    public void The_published_archive_runs_the_service_as_app_and_exposes_its_ports(string name, string project)
    {
        var archive = Path.Combine(_tree.Root, $"{name}.tar.gz");
        Run("dotnet", "publish", Project(project), "-c", "Release", "-t:PublishContainer", "--nologo", "-clp:ErrorsOnly",
            $"-p:ContainerArchiveOutputPath={archive}");

        var config = ImageArchive.ReadConfig(archive).GetProperty("config");
        Assert.Equal("app", config.GetProperty("User").GetString());
        Assert.Contains(config.GetProperty("Entrypoint").EnumerateArray(), e => e.GetString()!.Contains($"Mesh.{project}", StringComparison.Ordinal));
        var exposed = config.GetProperty("ExposedPorts").EnumerateObject().Select(p => p.Name).ToList();
        var pod = Assert.Single(Workloads.PodTemplates(_tree.Render("cpu")), w => w.Name == name).Pod;
        Assert.All(pod.Spec.Containers[0].Ports, p => Assert.Contains($"{p.ContainerPort}/tcp", exposed));
    }

    private static string Project(string project) => Path.Combine(RepoPaths.Root, "src", project, $"Mesh.{project}.csproj");

    private static string Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoPaths.Root };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} ran past 10 minutes");
        }

        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Result}{stdout.Result}");
        return stdout.Result;
    }

    public void Dispose() => _tree.Dispose();
}

/// <summary>Reads the image configuration out of an image archive in Docker's or OCI's layout.</summary>
public static class ImageArchive
{
    /// <summary>The image's config JSON (with <c>config.User</c>, <c>config.Entrypoint</c>, <c>config.ExposedPorts</c>).</summary>
    public static JsonElement ReadConfig(string path)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        using (var file = File.OpenRead(path))
        using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        using (var tar = new TarReader(gzip))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.DataStream is { } data && (entry.Name.EndsWith(".json", StringComparison.Ordinal) || entry.Name.StartsWith("blobs/", StringComparison.Ordinal)) && entry.Length < 1 << 20)
                {
                    using var copy = new MemoryStream();
                    data.CopyTo(copy);
                    files[entry.Name.TrimStart('.', '/')] = copy.ToArray();
                }
            }
        }

        if (files.TryGetValue("manifest.json", out var docker))
        {
            var configName = JsonDocument.Parse(docker).RootElement[0].GetProperty("Config").GetString()!;
            return JsonDocument.Parse(files[configName]).RootElement.Clone();
        }

        static string Blob(string digest) => "blobs/" + digest.Replace(':', '/');
        var index = JsonDocument.Parse(files["index.json"]).RootElement;
        var manifest = JsonDocument.Parse(files[Blob(index.GetProperty("manifests")[0].GetProperty("digest").GetString()!)]).RootElement;
        return JsonDocument.Parse(files[Blob(manifest.GetProperty("config").GetProperty("digest").GetString()!)]).RootElement.Clone();
    }
}

/// <summary>A theory skipped, with the reason, where the base image registry cannot be reached.</summary>
public sealed class ImageBuildTheoryAttribute : TheoryAttribute
{
    private static readonly string? Unreachable = Probe();

    public ImageBuildTheoryAttribute() => Skip = Unreachable;

    private static string? Probe()
    {
        try
        {
            System.Net.Dns.GetHostAddresses("mcr.microsoft.com");
            return null;
        }
        catch (System.Net.Sockets.SocketException e)
        {
            return $"mcr.microsoft.com cannot be reached here ({e.SocketErrorCode}): the chiseled base image cannot be pulled, so no image archive can be built";
        }
    }
}
