using Grpc.Core;
using Mesh.Gateway.Tests.Infrastructure;
using GuardV1 = Mesh.Guard.V1;

namespace Mesh.Gateway.Tests;

/// <summary>Only callers with a configured API key get through, and they learn what to send.</summary>
[Collection(MeshCollection.Name)]
public sealed class AuthenticationTests(MeshFixture mesh)
{
    private const string Path = "/mesh.guard.v1.GuardService/ListPolicies";

    public static TheoryData<string?, string> BadCredentials => new()
    {
        { null, "Missing API key" },
        { "Bearer not-a-key-anyone-has", "Unknown API key" },
        { "Basic dXNlcjpwYXNz", "must be 'Bearer <key>'" },
        { "Bearer ", "must be 'Bearer <key>'" },
    };

    [Theory]
    [MemberData(nameof(BadCredentials))]
    public async Task A_missing_or_unknown_key_is_unauthenticated_and_never_reaches_the_service(string? authorization, string expectedMessage)
    {
        var client = new GuardV1.GuardService.GuardServiceClient(mesh.Channel);
        var metadata = new Metadata();
        if (authorization is not null)
        {
            metadata.Add("authorization", authorization);
        }

        var before = mesh.Guard.Calls.Count(c => c.Path == Path);

        var failure = await Calls.FailureOf(() => client.ListPoliciesAsync(new(), metadata).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
        Assert.Contains(expectedMessage, failure.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, mesh.Guard.Calls.Count(c => c.Path == Path));
    }

    [Fact]
    public async Task A_route_configured_without_a_policy_still_requires_a_key()
    {
        await using var gateway = await GatewayUnderTest.StartAsync(
            new Dictionary<string, IReadOnlyList<Uri>> { ["guard"] = [mesh.Guard.Address] },
            [],
            "--ReverseProxy:Routes:guard:AuthorizationPolicy=");
        var client = new GuardV1.GuardService.GuardServiceClient(gateway.Channel);

        var failure = await Calls.FailureOf(() => client.ListPoliciesAsync(new()).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, failure.StatusCode);
    }

    [Fact]
    public async Task A_known_key_is_let_through_and_not_passed_on_to_the_service()
    {
        var client = new GuardV1.GuardService.GuardServiceClient(mesh.Channel);

        await Calls.StatusOf(() => client.ListPoliciesAsync(new(), mesh.Admin.Metadata).ResponseAsync);

        var received = mesh.Guard.Calls.Last(c => c.Path == Path);
        Assert.Null(received.Header("authorization"));
    }

    [Fact]
    public async Task A_refusal_message_arrives_as_plain_text_not_percent_encoded()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(mesh.Gateway.Address, Path))
        {
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(Mesh.Gateway.GrpcWire.GrpcFrame.Encode([])),
        };
        request.Content.Headers.ContentType = new("application/grpc");

        using var response = await http.SendAsync(request);

        // What grpcurl and every other client shows: the message, ':' and quotes included, as written.
        Assert.Equal("Missing API key: send the metadata 'authorization: Bearer <key>'.", response.Headers.GetValues("grpc-message").Single());
    }
}
