using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Mesh.Gateway.Tests.Infrastructure;
using GuardV1 = Mesh.Guard.V1;

namespace Mesh.Gateway.Tests;

/// <summary>With a certificate configured, callers reach the services over TLS (HTTP/2 by ALPN).</summary>
[Collection(MeshCollection.Name)]
public sealed class TlsTests(MeshFixture mesh)
{
    [Fact]
    public async Task A_call_over_tls_reaches_the_service()
    {
        using var certificate = CreateSelfSigned();
        var pfx = Path.Combine(Directory.CreateTempSubdirectory("mesh-gateway-tls-").FullName, "gateway.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "test"));
        await using var gateway = await GatewayUnderTest.StartAsync(
            new Dictionary<string, IReadOnlyList<Uri>> { ["guard"] = [mesh.Guard.Address] },
            [mesh.Admin],
            "--Mesh:Endpoints:Grpc=https://127.0.0.1:0",
            $"--Mesh:Endpoints:CertificatePath={pfx}",
            "--Mesh:Endpoints:CertificatePassword=test");
        Assert.Equal("https", gateway.Address.Scheme);

        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) =>
            presented is not null && presented.GetCertHashString() == certificate.GetCertHashString();
        using var channel = GrpcChannel.ForAddress(gateway.Address, new GrpcChannelOptions { HttpHandler = handler });
        var before = mesh.Guard.Calls.Count;

        var status = await Calls.StatusOf(() => new GuardV1.GuardService.GuardServiceClient(channel).ListPoliciesAsync(new(), mesh.Admin.Metadata).ResponseAsync);

        Assert.Equal(Grpc.Core.StatusCode.OK, status);
        Assert.Equal(before + 1, mesh.Guard.Calls.Count);
    }

    private static X509Certificate2 CreateSelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=mesh-gateway-test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
    }
}
