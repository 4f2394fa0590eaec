namespace Mesh.Gateway.Health;

/// <summary>Names shared by the pieces of the gRPC active health check.</summary>
public static class GrpcHealthProbe
{
    /// <summary>The YARP active health check policy name to put in a cluster's <c>HealthCheck:Active:Policy</c>.</summary>
    public const string PolicyName = "GrpcHealth";

    /// <summary>Cluster metadata: the service name asked in <c>HealthCheckRequest.service</c>; empty (default) asks about the server.</summary>
    public const string ServiceMetadataKey = "GrpcHealth.Service";

    /// <summary>Cluster metadata: failed probes in a row before a destination is taken out; default 2, like YARP's ConsecutiveFailures.</summary>
    public const string ThresholdMetadataKey = "GrpcHealth.Threshold";

    /// <summary>Marks a probe request, so that <see cref="ProbeResponseBufferingHandler"/> reads its response in full.</summary>
    public static readonly HttpRequestOptionsKey<bool> IsProbe = new("Mesh.GrpcHealthProbe");
}
