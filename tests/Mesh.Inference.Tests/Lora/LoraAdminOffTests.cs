using Grpc.Core;
using Mesh.Inference.Admin.V1;
using Mesh.Inference.V1;

namespace Mesh.Inference.Tests.Lora;

/// <summary>A host without <c>Inference:AdapterDirectory</c>: loading is refused, and naming an adapter that is not loaded is NOT_FOUND.</summary>
public sealed class LoraAdminOffTests(InferenceServiceFixture service) : IClassFixture<InferenceServiceFixture>
{
    [Fact]
    public async Task LoadingWithoutAnAdapterDirectoryIsFailedPrecondition()
    {
        var admin = new InferenceAdminService.InferenceAdminServiceClient(service.Channel);
        var e = await Assert.ThrowsAsync<RpcException>(() => admin.LoadAdapterAsync(new LoadAdapterRequest { Model = "stories260K", Name = "x", Path = "/etc/passwd" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("Inference:AdapterDirectory", e.Status.Detail);
        Assert.Empty((await admin.ListAdaptersAsync(new ListAdaptersRequest { Model = "stories260K" })).Adapters);
    }

    [Fact]
    public async Task AnAdapterThatIsNotLoadedIsNotFound()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => service.Client.ScoreAsync(new ScoreRequest { Model = "stories260K", Text = "Once upon a time", Adapter = "shop" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("adapter 'shop'", e.Status.Detail);
    }
}
