using System.Collections.Frozen;
using System.Reflection;
using Google.Protobuf.Reflection;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;

namespace Mesh.Gateway.GrpcWire;

/// <summary>
/// Every gRPC service and method of the Mesh contracts, found through the protobuf descriptors that
/// Mesh.Contracts compiles from <c>protos/**</c>. The gateway inspects requests and responses by field
/// name through these descriptors, so a new service or field needs no gateway code: a request field
/// named <c>model</c> is checked against the key's models wherever it appears.
/// </summary>
public sealed class GrpcMethodCatalog
{
    private readonly FrozenDictionary<string, MethodDescriptor> _methods;

    /// <summary>Indexes every method of <paramref name="services"/> by its gRPC path (<c>/package.Service/Method</c>).</summary>
    public GrpcMethodCatalog(IEnumerable<ServiceDescriptor> services)
    {
        Services = services.DistinctBy(s => s.FullName).ToList();
        _methods = Services
            .SelectMany(s => s.Methods)
            .ToFrozenDictionary(m => $"/{m.Service.FullName}/{m.Name}", StringComparer.Ordinal);
    }

    /// <summary>All services the contracts declare.</summary>
    public IReadOnlyList<ServiceDescriptor> Services { get; }

    /// <summary>The catalog of the services compiled into Mesh.Contracts.</summary>
    public static GrpcMethodCatalog FromContracts() => new(FindServices(typeof(Mesh.Inference.V1.InferenceService).Assembly));

    /// <summary>The method a request path (<c>/package.Service/Method</c>) calls, if the contracts declare it.</summary>
    public MethodDescriptor? Find(PathString path) =>
        path.Value is { } value && _methods.TryGetValue(value, out var method) ? method : null;

    /// <summary>
    /// protoc's C# generator emits one static <c>XxxReflection</c> class per .proto file with a
    /// <c>Descriptor</c> property; reading those finds every file without a hand-kept list.
    /// </summary>
    public static IEnumerable<ServiceDescriptor> FindServices(Assembly contracts) =>
        contracts.GetExportedTypes()
            .Where(t => t.IsAbstract && t.IsSealed) // static classes
            .Select(t => t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static))
            .Where(p => p?.PropertyType == typeof(FileDescriptor))
            .Select(p => (FileDescriptor)p!.GetValue(null)!)
            .SelectMany(f => f.Services);
}
