using System.Text.Json;
using Grpc.Core;
using Mesh.Gateway.Authentication;
using Mesh.Inference.V1;

namespace Mesh.Gateway.OpenAI;

/// <summary><c>GET /v1/models</c>: Inference's ListModels, limited to the models the caller's key may use.</summary>
public static class ModelsEndpoint
{
    /// <summary>Handles <c>GET /v1/models</c>: the loaded models the caller's key may use.</summary>
    public static async Task HandleAsync(HttpContext context, GatewayLoopback loopback, ApiKeyStore keys)
    {
        ListModelsResponse listed;
        try
        {
            listed = await new InferenceService.InferenceServiceClient(loopback.Invoker)
                .ListModelsAsync(new ListModelsRequest(), GatewayLoopback.MetadataFor(context), cancellationToken: context.RequestAborted);
        }
        catch (RpcException ex) when (!context.RequestAborted.IsCancellationRequested)
        {
            await OpenAIErrors.WriteAsync(context, ex);
            return;
        }

        // The call above authenticated the key, so the principal is one the gateway knows.
        var key = context.User.GetKeyName() is { } name ? keys.FindByName(name) : null;
        var models = listed.Models.Where(m => key?.MayUseModel(m.Id) != false)
            .Select(m => new ModelWire(m.Id, "model", 0, "mesh")).ToList();
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new ModelListWire("list", models),
            OpenAIJsonContext.Default.ModelListWire, context.RequestAborted);
    }
}
