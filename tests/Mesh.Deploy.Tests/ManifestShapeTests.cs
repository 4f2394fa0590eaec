using k8s;
using k8s.Models;
using Mesh.Deploy.Tests.Infrastructure;

namespace Mesh.Deploy.Tests;

/// <summary>What the rendered cpu overlay promises an operator: probes, non-root pods, routing, volumes, scaling.</summary>
public sealed class ManifestShapeTests : IDisposable
{
    private readonly K8sTree _tree = new();
    private IReadOnlyList<IKubernetesObject>? _cpu;

    private IReadOnlyList<IKubernetesObject> Cpu => _cpu ??= _tree.Render("cpu");

    [KustomizeFact]
    public void Every_server_has_native_grpc_probes_on_its_grpc_port_and_runs_non_root()
    {
        var workloads = Workloads.PodTemplates(Cpu).ToList();
        Assert.Equal(["gateway", "guard", "inference", "retrieval"], workloads.Select(w => w.Name).Order());
        foreach (var (name, pod) in workloads)
        {
            var server = pod.Spec.Containers[0];
            var grpcPort = Assert.Single(server.Ports, p => p.Name == "grpc").ContainerPort;
            Assert.Equal(grpcPort, server.ReadinessProbe?.Grpc?.Port);
            Assert.Equal(grpcPort, server.LivenessProbe?.Grpc?.Port);

            Assert.True(pod.Spec.SecurityContext?.RunAsNonRoot, $"{name} must run as non-root");
            Assert.NotEqual(0, pod.Spec.SecurityContext?.RunAsUser);
            Assert.All(Workloads.AllContainers(pod), c =>
            {
                Assert.False(c.SecurityContext?.AllowPrivilegeEscalation ?? true, $"{name}/{c.Name} may escalate");
                Assert.Contains("ALL", c.SecurityContext?.Capabilities?.Drop ?? []);
                Assert.StartsWith($"mesh/{name}:", c.Image, StringComparison.Ordinal);
            });
        }
    }

    [KustomizeFact]
    public void The_gateway_reaches_each_service_through_a_headless_Service_selecting_its_ready_pods()
    {
        var config = Assert.Single(Cpu.OfType<V1ConfigMap>(), c => c.Metadata.Name == "gateway-config");
        var destinations = config.Data.Where(kv => kv.Key.StartsWith("ReverseProxy__Clusters__", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, destinations.Count);
        foreach (var (_, address) in destinations)
        {
            var uri = new Uri(address);
            var service = Assert.Single(Cpu.OfType<V1Service>(), s => s.Metadata.Name == uri.Host);
            Assert.Equal("None", service.Spec.ClusterIP);   // headless: DNS returns every pod
            var port = Assert.Single(service.Spec.Ports, p => p.Port == uri.Port);
            Assert.Equal("kubernetes.io/h2c", port.AppProtocol);
            Assert.Single(Workloads.PodTemplates(Cpu), w => Workloads.Selects(service.Spec.Selector, w.Pod)
                && w.Pod.Spec.Containers[0].Ports.Any(p => p.Name == port.TargetPort.Value));
        }
    }

    [KustomizeFact]
    public void Inference_pulls_the_model_into_the_shared_volume_then_serves_it_read_only()
    {
        var inference = Assert.Single(Cpu.OfType<V1Deployment>(), d => d.Metadata.Name == "inference");
        var pod = inference.Spec.Template.Spec;
        var claim = Assert.Single(pod.Volumes, v => v.Name == "models").PersistentVolumeClaim.ClaimName;
        Assert.Single(Cpu.OfType<V1PersistentVolumeClaim>(), c => c.Metadata.Name == claim);

        var pull = Assert.Single(pod.InitContainers);
        Assert.Equal("pull", pull.Args[0]);
        var pinned = pull.Args.Skip(1).ToList();
        Assert.NotEmpty(pinned);
        Assert.All(pinned, r => Assert.Matches("^hf:.+#sha256=[0-9a-f]{64}$", r));   // every file pinned by its sum
        Assert.False(Assert.Single(pull.VolumeMounts, m => m.Name == "models").ReadOnlyProperty ?? false);

        var server = pod.Containers[0];
        Assert.True(Assert.Single(server.VolumeMounts, m => m.Name == "models").ReadOnlyProperty);
        var served = Assert.Single(server.Args, a => a.StartsWith("--Inference:Models:0:Path=", StringComparison.Ordinal))["--Inference:Models:0:Path=".Length..];
        Assert.Contains(pinned, r => r.StartsWith(served + "#", StringComparison.Ordinal));   // serves what was pulled
        Assert.Contains("--Inference:Offline=true", server.Args);
        Assert.Equal(
            Assert.Single(pull.Env, e => e.Name == "MESH_HOME").Value,
            Assert.Single(server.Env, e => e.Name == "MESH_HOME").Value);
    }

    [KustomizeFact]
    public void Inference_scales_on_its_queue_length_and_cpu_and_the_others_on_cpu()
    {
        var hpas = Cpu.OfType<V2HorizontalPodAutoscaler>().ToDictionary(h => h.Metadata.Name);
        var inference = hpas["inference"];
        // Inference's gauge mesh.inference.requests.waiting, as its /metrics exports it (Inference tests check that name).
        var queue = Assert.Single(inference.Spec.Metrics, m => m.Type == "Pods");
        Assert.Equal("mesh_inference_requests_waiting", queue.Pods.Metric.Name);
        Assert.Equal("AverageValue", queue.Pods.Target.Type);
        foreach (var hpa in hpas.Values)
        {
            Assert.Contains(hpa.Spec.Metrics, m => m.Type == "Resource" && m.Resource.Name == "cpu");
            var target = Assert.Single(Cpu.OfType<V1Deployment>(), d => d.Metadata.Name == hpa.Spec.ScaleTargetRef.Name);
            Assert.Equal("Deployment", hpa.Spec.ScaleTargetRef.Kind);
            Assert.True(hpa.Spec.MinReplicas >= 2 && hpa.Spec.MaxReplicas > hpa.Spec.MinReplicas, hpa.Metadata.Name);
            Assert.NotNull(target);
        }
    }

    [KustomizeFact]
    public void Every_Deployment_has_a_PodDisruptionBudget_keeping_one_pod_and_Retrieval_a_volume_per_replica()
    {
        var budgets = Cpu.OfType<V1PodDisruptionBudget>().ToList();
        foreach (var deployment in Cpu.OfType<V1Deployment>())
        {
            var budget = Assert.Single(budgets, b => Workloads.Selects(b.Spec.Selector.MatchLabels, deployment.Spec.Template));
            Assert.Equal("1", budget.Spec.MinAvailable.Value);
        }

        var retrieval = Assert.Single(Cpu.OfType<V1StatefulSet>());
        var template = Assert.Single(retrieval.Spec.VolumeClaimTemplates);
        Assert.Contains("ReadWriteOnce", template.Spec.AccessModes);
        var mount = Assert.Single(retrieval.Spec.Template.Spec.Containers[0].VolumeMounts, m => m.Name == template.Metadata.Name);
        Assert.Equal(mount.MountPath, Assert.Single(retrieval.Spec.Template.Spec.Containers[0].Env, e => e.Name == "Retrieval__DataPath").Value);
        Assert.Equal("None", Assert.Single(Cpu.OfType<V1Service>(), s => s.Metadata.Name == retrieval.Spec.ServiceName).Spec.ClusterIP);
    }

    public void Dispose() => _tree.Dispose();
}
