using k8s;
using k8s.Models;

namespace Mesh.Deploy.Tests.Infrastructure;

/// <summary>The pod templates of the Deployments and StatefulSets among rendered objects.</summary>
public static class Workloads
{
    /// <summary>(workload name, pod template) for every Deployment and StatefulSet.</summary>
    public static IEnumerable<(string Name, V1PodTemplateSpec Pod)> PodTemplates(IEnumerable<IKubernetesObject> objects)
    {
        foreach (var o in objects)
        {
            switch (o)
            {
                case V1Deployment d:
                    yield return (d.Metadata.Name, d.Spec.Template);
                    break;
                case V1StatefulSet s:
                    yield return (s.Metadata.Name, s.Spec.Template);
                    break;
            }
        }
    }

    /// <summary>Init containers, then containers.</summary>
    public static IEnumerable<V1Container> AllContainers(V1PodTemplateSpec pod) =>
        (pod.Spec.InitContainers ?? []).Concat(pod.Spec.Containers);

    /// <summary>Whether a selector's labels are all on the pod template.</summary>
    public static bool Selects(IDictionary<string, string> selector, V1PodTemplateSpec pod) =>
        selector.All(kv => pod.Metadata.Labels.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
