namespace Mesh.ServiceDefaults;

/// <summary>
/// Where a service listens. gRPC needs HTTP/2, which over cleartext Kestrel only speaks with prior
/// knowledge on an HTTP/2-only endpoint; the Prometheus scrape endpoint and plain HTTP APIs need
/// HTTP/1.1. So each service has two endpoints. Bound from the <c>Mesh:Endpoints</c> section, for
/// example <c>--Mesh:Endpoints:Grpc=http://0.0.0.0:50051</c>. Port 0 picks a free port (tests).
/// </summary>
public sealed class MeshEndpointOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Mesh:Endpoints";

    /// <summary>The gRPC endpoint (HTTP/2 cleartext, or TLS when <see cref="CertificatePath"/> is set).</summary>
    public string Grpc { get; set; } = "http://127.0.0.1:50051";

    /// <summary>The HTTP/1.1 endpoint serving <c>/metrics</c> and <c>/healthz</c>; empty disables it.</summary>
    public string Http { get; set; } = "";

    /// <summary>Optional PFX certificate for TLS on the gRPC endpoint (HTTP/1.1 and HTTP/2 via ALPN).</summary>
    public string? CertificatePath { get; set; }

    /// <summary>Password of <see cref="CertificatePath"/>.</summary>
    public string? CertificatePassword { get; set; }
}
