using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Mesh.Deploy.Tests.Infrastructure;

namespace Mesh.Deploy.Tests;

/// <summary>The gpu overlay is the cpu overlay plus a GPU for each Inference pod, and nothing else.</summary>
public sealed class OverlayDiffTests : IDisposable
{
    private readonly K8sTree _tree = new();

    [KustomizeFact]
    public void The_gpu_overlay_differs_from_cpu_only_in_the_inference_pods_gpu_fields()
    {
        var cpu = ByName(_tree.Render("cpu"));
        var gpu = ByName(_tree.Render("gpu"));
        Assert.Equal(cpu.Keys.Order(), gpu.Keys.Order());

        const string inference = "Deployment/inference";
        var pod = gpu[inference]["spec"]!["template"]!["spec"]!.AsObject();
        var server = pod["containers"]![0]!.AsObject();

        // What the GPU needs, present as expected...
        Assert.Equal("1", server["resources"]!["limits"]!["nvidia.com/gpu"]!.ToString());
        Assert.Equal("true", pod["nodeSelector"]!["nvidia.com/gpu.present"]!.ToString());
        Assert.Contains(pod["tolerations"]!.AsArray(), t => t!["key"]!.ToString() == "nvidia.com/gpu");
        var env = server["env"]!.AsArray();
        Assert.Equal("cuda", Assert.Single(env, e => e!["name"]!.ToString() == "Inference__Device")!["value"]!.ToString());

        // ...and once removed, every object of both overlays is identical.
        ((JsonObject)server["resources"]!["limits"]!).Remove("nvidia.com/gpu");
        pod.Remove("nodeSelector");
        pod.Remove("tolerations");
        env.Remove(env.Single(e => e!["name"]!.ToString() == "Inference__Device"));
        foreach (var key in cpu.Keys)
        {
            Assert.True(JsonNode.DeepEquals(cpu[key], gpu[key]), $"{key} differs between cpu and gpu:\n{cpu[key]}\n---\n{gpu[key]}");
        }
    }

    private static Dictionary<string, JsonNode> ByName(IEnumerable<IKubernetesObject> objects) =>
        objects.ToDictionary(
            o => $"{o.Kind}/{((IMetadata<V1ObjectMeta>)o).Metadata.Name}",
            o => JsonNode.Parse(KubernetesJson.Serialize(o))!);

    public void Dispose() => _tree.Dispose();
}
