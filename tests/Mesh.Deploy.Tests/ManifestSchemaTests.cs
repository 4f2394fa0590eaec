using k8s;
using k8s.Models;
using Mesh.Deploy.Tests.Infrastructure;

namespace Mesh.Deploy.Tests;

/// <summary>
/// Every overlay of k8s/ builds with kustomize and every object it renders matches the Kubernetes
/// API schema of its kind, with the secrets made from files the user creates.
/// </summary>
public sealed class ManifestSchemaTests : IDisposable
{
    private readonly K8sTree _tree = new();

    [KustomizeTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Every_object_of_an_overlay_matches_its_Kubernetes_schema(string overlay)
    {
        var objects = _tree.Render(overlay);

        var names = objects.Select(o => $"{o.Kind}/{Base(o)}").ToHashSet();
        string[] expected =
        [
            "Namespace/mesh", "ConfigMap/gateway-config", "ConfigMap/guard-policies",
            "Secret/mesh-tenant-signing", "Secret/gateway-api-keys", "PersistentVolumeClaim/mesh-models",
            "Deployment/gateway", "Deployment/inference", "Deployment/guard", "StatefulSet/retrieval",
            "Service/gateway", "Service/inference-headless", "Service/retrieval-headless", "Service/guard-headless",
            "PodDisruptionBudget/gateway", "PodDisruptionBudget/inference", "PodDisruptionBudget/guard",
            "HorizontalPodAutoscaler/gateway", "HorizontalPodAutoscaler/inference", "HorizontalPodAutoscaler/guard",
        ];
        Assert.Empty(expected.Except(names));
        Assert.All(objects.Where(o => o.Kind != "Namespace"), o => Assert.Equal("mesh", ((IMetadata<V1ObjectMeta>)o).Metadata.NamespaceProperty));
    }

    [Fact]
    public void Strict_reading_refuses_a_misspelt_field_a_wrong_type_and_an_unknown_kind()
    {
        const string good = "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\ndata: { k: v }\n";
        Assert.Single(Manifests.ReadStrict(good));

        Assert.ThrowsAny<Exception>(() => Manifests.ReadStrict(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: a }\nspec: { replicaz: 2 }\n"));
        Assert.ThrowsAny<Exception>(() => Manifests.ReadStrict(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: a }\nspec: { replicas: many }\n"));
        Assert.ThrowsAny<Exception>(() => Manifests.ReadStrict(
            "apiVersion: apps/v1\nkind: Deploymint\nmetadata: { name: a }\n"));
    }

    [KustomizeFact]
    public void Building_without_the_secret_files_fails_and_names_the_missing_file()
    {
        using var bare = new K8sTree(withSecrets: false);

        var (code, _, stderr) = Kustomize.Run(Path.Combine(bare.Root, "overlays", "cpu"));

        Assert.NotEqual(0, code);
        Assert.Contains("secrets/", stderr, StringComparison.Ordinal);
    }

    [KustomizeFact]
    public void Secrets_hold_the_files_the_user_created_and_every_reference_resolves()
    {
        var objects = _tree.Render("cpu");

        var signing = Assert.Single(objects.OfType<V1Secret>(), s => Base(s) == "mesh-tenant-signing");
        Assert.Equal(_tree.TenantSigningKey, System.Text.Encoding.UTF8.GetString(signing.Data["key"]));
        var keys = Assert.Single(objects.OfType<V1Secret>(), s => Base(s) == "gateway-api-keys");
        Assert.Contains("Gateway__ApiKeys__example__Sha256", keys.Data.Keys);

        var secrets = objects.OfType<V1Secret>().Select(s => s.Metadata.Name).ToHashSet();
        var configMaps = objects.OfType<V1ConfigMap>().Select(c => c.Metadata.Name).ToHashSet();
        foreach (var (workload, pod) in Workloads.PodTemplates(objects))
        {
            foreach (var container in Workloads.AllContainers(pod))
            {
                foreach (var from in container.EnvFrom ?? [])
                {
                    Assert.True(from.SecretRef is null || secrets.Contains(from.SecretRef.Name), $"{workload}: secret {from.SecretRef?.Name}");
                    Assert.True(from.ConfigMapRef is null || configMaps.Contains(from.ConfigMapRef.Name), $"{workload}: config map {from.ConfigMapRef?.Name}");
                }

                foreach (var env in container.Env ?? [])
                {
                    Assert.True(env.ValueFrom?.SecretKeyRef is null || secrets.Contains(env.ValueFrom.SecretKeyRef.Name), $"{workload}: {env.Name}");
                    Assert.True(env.ValueFrom?.ConfigMapKeyRef is null || configMaps.Contains(env.ValueFrom.ConfigMapKeyRef.Name), $"{workload}: {env.Name}");
                }
            }

            foreach (var volume in pod.Spec.Volumes ?? [])
            {
                Assert.True(volume.ConfigMap is null || configMaps.Contains(volume.ConfigMap.Name), $"{workload}: volume {volume.Name}");
            }
        }

        // Every service verifies the signature the gateway makes, with the same Secret.
        foreach (var (workload, pod) in Workloads.PodTemplates(objects))
        {
            var server = pod.Spec.Containers[0];
            var setting = workload == "gateway" ? "Gateway__TenantSigningKey" : "Mesh__Tenancy__SigningKey";
            var env = Assert.Single(server.Env, e => e.Name == setting);
            Assert.Equal(signing.Metadata.Name, env.ValueFrom.SecretKeyRef.Name);
        }
    }

    [KustomizeTheory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Guards_judge_is_a_model_Inference_serves_on_a_Service_that_exists(string overlay)
    {
        // Without Guard:Judge:* a cluster's Evaluate (eval --judge) fails FAILED_PRECONDITION; with a
        // wrong host, port or model id it fails only when first called. Hold them to the manifests.
        var objects = _tree.Render(overlay);
        var pods = Workloads.PodTemplates(objects).ToDictionary(p => p.Name, p => p.Pod);
        var guard = pods["guard"].Spec.Containers[0];
        string Env(string name) => Assert.Single(guard.Env, e => e.Name == name).Value;

        var endpoint = new Uri(Env("Guard__Judge__Endpoint"));
        var service = Assert.Single(objects.OfType<V1Service>(), s => s.Metadata.Name == endpoint.Host);
        Assert.Equal("inference", service.Spec.Selector["app.kubernetes.io/name"]);
        Assert.Contains(service.Spec.Ports, p => p.Port == endpoint.Port);

        var inference = pods["inference"].Spec.Containers[0];
        var served = (inference.Args ?? []).Where(a => a.StartsWith("--Inference:Models:", StringComparison.Ordinal) && a.Contains(":Id=", StringComparison.Ordinal))
            .Select(a => a[(a.IndexOf('=') + 1)..]).ToList();
        Assert.Contains(Env("Guard__Judge__Model"), served);
        Assert.True(int.Parse(Env("Guard__Judge__MaxTokens"), System.Globalization.CultureInfo.InvariantCulture) > 0);
    }

    [Fact]
    public void The_deployed_guard_policy_is_the_one_Guard_ships()
    {
        // kustomize reads files only below the kustomization, so the policy is a copy: keep it equal.
        Assert.True(
            File.ReadAllText(Path.Combine(RepoPaths.Root, "src", "Guard", "policies.yaml"))
                == File.ReadAllText(Path.Combine(RepoPaths.Root, "k8s", "base", "config", "guard-policies.yaml")),
            "k8s/base/config/guard-policies.yaml differs from src/Guard/policies.yaml: copy the latter over the former");
    }

    /// <summary>The name without the hash suffix kustomize appends to generated objects.</summary>
    internal static string Base(IKubernetesObject o)
    {
        var name = ((IMetadata<V1ObjectMeta>)o).Metadata.Name;
        var dash = name.LastIndexOf('-');
        return o is V1Secret or V1ConfigMap && dash > 0 && name.Length - dash == 11 ? name[..dash] : name;
    }

    public void Dispose() => _tree.Dispose();
}
