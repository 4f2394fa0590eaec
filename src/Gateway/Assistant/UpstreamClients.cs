using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.Gateway.Observability;
using Mesh.Guard.V1;
using Mesh.Inference.V1;
using Mesh.Retrieval.V1;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Mesh.Gateway.Assistant;

/// <summary>
/// The clients the pipeline calls its stages with. By default they point at the gateway's own gRPC
/// endpoint and carry the caller's <c>authorization</c>, so each stage is authenticated, limited,
/// checked for the models and collections the key may use, and run in the key's tenant by the same
/// code that handles direct calls; nothing of that is repeated here.
/// </summary>
public sealed class UpstreamClients(IServer server, IOptions<AssistantOptions> options) : IDisposable
{
    private readonly Lazy<GrpcChannel> _channel = new(() => GrpcChannel.ForAddress(
        options.Value.Upstream ?? OwnGrpcAddress(server),
        new GrpcChannelOptions { MaxReceiveMessageSize = 16 * 1024 * 1024 }));

    private readonly ConcurrentDictionary<string, int> _contextLengths = new(StringComparer.Ordinal);

    /// <summary>Guard through the gateway (the caller's key and tenant apply).</summary>
    public GuardService.GuardServiceClient Guard => new(_channel.Value);

    /// <summary>Guard's answer-quality scoring and drift service through the gateway (the caller's key and tenant apply).</summary>
    public QualityService.QualityServiceClient Quality => new(_channel.Value);

    /// <summary>Retrieval through the gateway (the caller's key and tenant apply).</summary>
    public RetrievalService.RetrievalServiceClient Retrieval => new(_channel.Value);

    /// <summary>Inference through the gateway (the caller's key and limits apply).</summary>
    public InferenceService.InferenceServiceClient Inference => new(_channel.Value);

    /// <summary>Call options for a stage of the caller's call: its key, request id, deadline and cancellation.</summary>
    public static CallOptions For(ServerCallContext context)
    {
        var headers = new Metadata();
        var authorization = context.RequestHeaders.GetValue("authorization");
        if (authorization is not null)
        {
            headers.Add("authorization", authorization);
        }

        var requestId = context.GetHttpContext().Response.Headers[RequestIds.HeaderName].ToString();
        if (requestId.Length > 0)
        {
            headers.Add(RequestIds.HeaderName, requestId);
        }

        return new CallOptions(headers, context.Deadline == DateTime.MaxValue ? null : context.Deadline, context.CancellationToken);
    }

    /// <summary>The model's context length in tokens (ListModels, remembered per model id).</summary>
    /// <exception cref="RpcException">NOT_FOUND when the model is not served.</exception>
    public async Task<int> ContextLengthAsync(string model, CallOptions call)
    {
        if (_contextLengths.TryGetValue(model, out var known))
        {
            return known;
        }

        var models = await Inference.ListModelsAsync(new ListModelsRequest(), call).ConfigureAwait(false);
        var info = models.Models.FirstOrDefault(m => m.Id == model)
            ?? throw new RpcException(new Status(StatusCode.NotFound,
                $"model '{model}' is not served; ListModels offers: {string.Join(", ", models.Models.Select(m => m.Id))}"));
        return _contextLengths[model] = info.ContextLength;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_channel.IsValueCreated)
        {
            _channel.Value.Dispose();
        }
    }

    private static Uri OwnGrpcAddress(IServer server)
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("The gateway has no bound address yet; set Gateway:Assistant:Upstream.");
        return new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
    }
}
