using Grpc.Core;
using Mesh.Gateway.Tests.Infrastructure;
using InferenceV1 = Mesh.Inference.V1;
using RetrievalV1 = Mesh.Retrieval.V1;

namespace Mesh.Gateway.Tests;

/// <summary>A key may use only the models and collections it names.</summary>
[Collection(MeshCollection.Name)]
public sealed class AuthorizationTests(MeshFixture mesh)
{
    private const string SearchPath = "/mesh.retrieval.v1.RetrievalService/Search";

    [Fact]
    public async Task A_collection_the_key_does_not_name_is_permission_denied_before_the_service()
    {
        var client = new RetrievalV1.RetrievalService.RetrievalServiceClient(mesh.Channel);
        var before = mesh.Retrieval.Calls.Count(c => c.Path == SearchPath);

        var failure = await Calls.FailureOf(() =>
            client.SearchAsync(new RetrievalV1.SearchRequest { Collection = "payroll", Text = "salaries", Limit = 3 }, mesh.Narrow.Metadata).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, failure.StatusCode);
        Assert.Contains("collection 'payroll'", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("allowed: docs", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, mesh.Retrieval.Calls.Count(c => c.Path == SearchPath));
    }

    [Fact]
    public async Task A_collection_the_key_names_is_forwarded()
    {
        var client = new RetrievalV1.RetrievalService.RetrievalServiceClient(mesh.Channel);
        var before = mesh.Retrieval.Calls.Count(c => c.Path == SearchPath);

        var status = await Calls.StatusOf(() =>
            client.SearchAsync(new RetrievalV1.SearchRequest { Collection = "docs", Text = "hello", Limit = 3 }, mesh.Narrow.Metadata).ResponseAsync);

        Assert.NotEqual(StatusCode.PermissionDenied, status);
        Assert.Equal(before + 1, mesh.Retrieval.Calls.Count(c => c.Path == SearchPath));
    }

    [Fact]
    public async Task A_collection_named_by_a_name_field_is_checked_too()
    {
        var client = new RetrievalV1.RetrievalService.RetrievalServiceClient(mesh.Channel);

        var failure = await Calls.FailureOf(() =>
            client.DropCollectionAsync(new RetrievalV1.DropCollectionRequest { Name = "payroll" }, mesh.Narrow.Metadata).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, failure.StatusCode);
    }

    [Fact]
    public async Task A_model_the_key_does_not_name_is_permission_denied()
    {
        var client = new InferenceV1.InferenceService.InferenceServiceClient(mesh.Channel);

        var failure = await Calls.FailureOf(() =>
            client.CompleteAsync(new InferenceV1.GenerateRequest { Model = "llama-70b", Prompt = "Hi", MaxTokens = 4 }, mesh.Narrow.Metadata).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, failure.StatusCode);
        Assert.Contains("model 'llama-70b'", failure.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_adapter_is_checked_as_the_model_base_colon_adapter()
    {
        // The narrow key names only "stories260K": its adapters are other models, whichever field names them.
        var client = new InferenceV1.InferenceService.InferenceServiceClient(mesh.Channel);
        const string complete = "/mesh.inference.v1.InferenceService/Complete";
        var before = mesh.Inference.Calls.Count(c => c.Path == complete);

        var byField = await Calls.FailureOf(() =>
            client.CompleteAsync(new InferenceV1.GenerateRequest { Model = "stories260K", Adapter = "shop", Prompt = "Hi", MaxTokens = 4 }, mesh.Narrow.Metadata).ResponseAsync);
        var byName = await Calls.FailureOf(() =>
            client.CompleteAsync(new InferenceV1.GenerateRequest { Model = "stories260K:shop", Prompt = "Hi", MaxTokens = 4 }, mesh.Narrow.Metadata).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, byField.StatusCode);
        Assert.Contains("model 'stories260K:shop'", byField.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.PermissionDenied, byName.StatusCode);
        Assert.Equal(before, mesh.Inference.Calls.Count(c => c.Path == complete));

        // The admin key ("*") reaches Inference, which answers for the adapter it does not have.
        var forwarded = await Calls.StatusOf(() =>
            client.CompleteAsync(new InferenceV1.GenerateRequest { Model = "stories260K", Adapter = "shop", Prompt = "Hi", MaxTokens = 4 }, mesh.Admin.Metadata).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, forwarded);
    }

    [Fact]
    public async Task A_streaming_call_naming_a_forbidden_model_is_refused_too()
    {
        var client = new InferenceV1.InferenceService.InferenceServiceClient(mesh.Channel);

        var failure = await Calls.FailureOf(async () =>
        {
            using var call = client.Generate(new InferenceV1.GenerateRequest { Model = "llama-70b", Prompt = "Hi", MaxTokens = 4 }, mesh.Narrow.Metadata);
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });

        Assert.Equal(StatusCode.PermissionDenied, failure.StatusCode);
    }

    [Fact]
    public async Task A_client_stream_whose_first_message_names_a_forbidden_collection_is_permission_denied()
    {
        var client = new RetrievalV1.RetrievalService.RetrievalServiceClient(mesh.Channel);

        var failure = await Calls.FailureOf(async () =>
        {
            using var call = client.Import(mesh.Narrow.Metadata);
            await call.RequestStream.WriteAsync(new RetrievalV1.ImportRequest { Collection = "payroll" });
            await call.RequestStream.CompleteAsync();
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });

        Assert.Equal(StatusCode.PermissionDenied, failure.StatusCode);
        Assert.Contains("collection 'payroll'", failure.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_later_message_naming_a_forbidden_collection_ends_the_stream()
    {
        var client = new RetrievalV1.RetrievalService.RetrievalServiceClient(mesh.Channel);
        var metadata = mesh.Narrow.Metadata;
        metadata.Add(ServiceReplica.HoldHeader, "1"); // the service keeps the stream open
        const string import = "/mesh.retrieval.v1.RetrievalService/Import";
        var before = mesh.Retrieval.Calls.Count(c => c.Path == import);

        var failure = await Calls.FailureOf(async () =>
        {
            using var call = client.Import(metadata, DateTime.UtcNow.AddSeconds(30));
            await call.RequestStream.WriteAsync(new RetrievalV1.ImportRequest { Collection = "docs" });
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            {
                while (mesh.Retrieval.Calls.Count(c => c.Path == import) == before)
                {
                    await Task.Delay(20, cts.Token);
                }
            }

            await call.RequestStream.WriteAsync(new RetrievalV1.ImportRequest { Collection = "payroll" });
            await call.ResponseStream.MoveNext(CancellationToken.None);
        });

        // The call is mid-stream, so the gateway resets the HTTP/2 stream (INTERNAL) rather than
        // letting it run to its deadline.
        Assert.Equal(StatusCode.Internal, failure.StatusCode);
    }

    [Fact]
    public async Task A_request_message_over_the_size_limit_is_resource_exhausted()
    {
        var client = new InferenceV1.InferenceService.InferenceServiceClient(mesh.Channel);
        var huge = new string('a', 4 * 1024 * 1024 + 1);

        var failure = await Calls.FailureOf(() =>
            client.TokenizeAsync(new InferenceV1.TokenizeRequest { Model = "stories260K", Text = huge }, mesh.Admin.Metadata).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, failure.StatusCode);
        Assert.Contains("MaxRequestMessageBytes", failure.Status.Detail, StringComparison.Ordinal);
    }
}
