using k8s;

namespace Mesh.Deploy.Tests.Infrastructure;

/// <summary>
/// Schema validation without a cluster: every YAML document is read into the Kubernetes API's typed
/// model for its apiVersion/kind (KubernetesClient's models, generated from the API's OpenAPI
/// schema) with unknown fields refused, so a misspelt or misplaced field, a wrong type, or a kind
/// that does not exist fails the read.
/// </summary>
public static class Manifests
{
    /// <summary>Every object of a multi-document YAML stream; throws on the first that does not match its schema.</summary>
    public static IReadOnlyList<IKubernetesObject> ReadStrict(string yaml) =>
        KubernetesYaml.LoadAllFromString(yaml, typeMap: null, strict: true)
            .Select(o => o as IKubernetesObject ?? throw new InvalidDataException($"not a Kubernetes object: {o?.GetType().Name}"))
            .ToList();
}
