using System.Collections;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Mesh.Gateway.Authentication;
using Mesh.Gateway.GrpcWire;
using Microsoft.Extensions.Options;

namespace Mesh.Gateway.Authorization;

/// <summary>
/// Checks that the caller's key may use the model and the collection a request names. The fields are
/// found by name in the request's descriptor (<see cref="GatewayOptions.ResourceFields"/>), so every
/// RPC of every service is covered without per-method code. Client- and
/// bidirectional-streaming calls are forwarded without inspection (their messages arrive over time);
/// the route's MaxRequestBodySize bounds them.
/// </summary>
public sealed class ResourceAuthorizationMiddleware(
    RequestDelegate next,
    GrpcMethodCatalog catalog,
    ApiKeyStore keys,
    IOptions<GatewayOptions> options)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var method = catalog.Find(context.Request.Path);
        if (method is null || method.IsClientStreaming)
        {
            await next(context);
            return;
        }

        var read = await RequestMessageReader.ReadAsync(context, method.InputType, options.Value.MaxRequestMessageBytes);
        if (read.Message is null)
        {
            await GrpcError.WriteAsync(context, read.Status, read.Error!);
            return;
        }

        var key = context.User.GetKeyName() is { } name ? keys.FindByName(name) : null;
        if (key is not null && FindDenied(read.Message, key, options.Value.ResourceFields) is { } denied)
        {
            await GrpcError.WriteAsync(context, StatusCode.PermissionDenied, denied);
            return;
        }

        await next(context);
    }

    private static string? FindDenied(IMessage message, ApiKey key, Dictionary<string, string> resourceFields)
    {
        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            if (field.FieldType != FieldType.String
                || !(resourceFields.TryGetValue(field.FullName, out var kind) || resourceFields.TryGetValue(field.Name, out kind)))
            {
                continue;
            }

            var (allowed, check) = kind switch
            {
                ResourceKinds.Model => (key.Options.Models, (Func<string, bool>)key.MayUseModel),
                ResourceKinds.Collection => (key.Options.Collections, key.MayUseCollection),
                _ => (null, null),
            };
            if (allowed is null)
            {
                continue;
            }

            foreach (var value in Values(field, message))
            {
                // An empty value names nothing: the service answers INVALID_ARGUMENT for it.
                if (value.Length > 0 && !check!(value))
                {
                    var list = allowed.Count == 0 ? "none" : string.Join(", ", allowed);
                    return $"API key '{key.Name}' may not use {kind} '{value}' (allowed: {list}).";
                }
            }
        }

        return null;
    }

    private static IEnumerable<string> Values(FieldDescriptor field, IMessage message) =>
        field.Accessor.GetValue(message) switch
        {
            string single => [single],
            IEnumerable many => many.OfType<string>(),
            _ => [],
        };
}
