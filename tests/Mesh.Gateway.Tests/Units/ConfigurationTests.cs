using Mesh.Gateway.Reflection;
using Microsoft.Extensions.Options;

namespace Mesh.Gateway.Tests.Units;

/// <summary>A broken configuration stops the gateway at start with a message that says what to fix.</summary>
public sealed class ConfigurationTests
{
    [Fact]
    public async Task A_key_stored_in_clear_instead_of_hashed_stops_the_gateway_at_start()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var app = GatewayHost.CreateApp(
            [
                "--Mesh:Endpoints:Grpc=http://127.0.0.1:0",
                "--Mesh:Endpoints:Http=http://127.0.0.1:0",
                "--Gateway:ApiKeys:oops:Sha256=my-plain-key",
                "--Gateway:ApiKeys:oops:Tenant=acme",
            ]);
            await app.StartAsync();
        });

        Assert.Contains("Gateway:ApiKeys:oops:Sha256 must be the 64-digit hex SHA-256", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/mesh.guard.v1.GuardService/{**method}", "mesh.guard.v1.GuardService", true)]
    [InlineData("/mesh.guard.v1.GuardService/{**method}", "mesh.guard.v1.GuardAdmin", false)]
    [InlineData("/mesh.guard.v1.{service}/{**method}", "mesh.guard.v1.GuardAdmin", true)]
    [InlineData("/mesh.guard.v1.{service}/{**method}", "mesh.retrieval.v1.RetrievalService", false)]
    [InlineData("/{**catch-all}", "mesh.guard.v1.GuardService", false)]
    public void Reflection_lists_the_services_a_route_path_selects(string routePath, string service, bool selected) =>
        Assert.Equal(selected, GatewayReflection.RouteSelects(routePath, service));
}
