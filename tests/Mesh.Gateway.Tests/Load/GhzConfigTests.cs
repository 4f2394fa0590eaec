using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Mesh.Gateway.Tests.Infrastructure;

namespace Mesh.Gateway.Tests.Load;

/// <summary>
/// The ghz configurations in bench/ghz name a proto that exists, a method it declares, and request
/// data that protobuf's JSON parser accepts for that method's request (an unknown field fails).
/// </summary>
public sealed class GhzConfigTests
{
    private static readonly FileDescriptor[] Files =
        [Mesh.Inference.V1.InferenceReflection.Descriptor, Mesh.Retrieval.V1.RetrievalReflection.Descriptor, Mesh.Guard.V1.GuardReflection.Descriptor];

    public static TheoryData<string> Configs() => new(Directory.GetFiles(Path.Combine(RepoPaths.Root, "bench", "ghz"), "*.json").Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(Configs))]
    public void A_ghz_config_names_a_real_method_and_valid_request_data(string file)
    {
        var folder = Path.Combine(RepoPaths.Root, "bench", "ghz");
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, file))).RootElement;

        var proto = Path.GetFullPath(Path.Combine(folder, config.GetProperty("proto").GetString()!));
        Assert.True(File.Exists(proto), proto);
        var imports = config.GetProperty("import-paths").EnumerateArray().Select(p => Path.GetFullPath(Path.Combine(folder, p.GetString()!))).ToList();
        var relative = Path.GetRelativePath(Assert.Single(imports), proto).Replace('\\', '/');

        var call = config.GetProperty("call").GetString()!;
        var service = call[..call.LastIndexOf('.')];
        var descriptor = Assert.Single(Files, f => f.Name == relative);
        var method = Assert.Single(descriptor.Services, s => s.FullName == service).FindMethodByName(call[(call.LastIndexOf('.') + 1)..]);
        Assert.NotNull(method);

        var request = JsonParser.Default.Parse(config.GetProperty("data").GetRawText(), method.InputType);
        Assert.NotEqual(0, request.CalculateSize());
        Assert.StartsWith("Bearer ", config.GetProperty("metadata").GetProperty("authorization").GetString(), StringComparison.Ordinal);
        Assert.True(config.GetProperty("insecure").GetBoolean());
    }
}
