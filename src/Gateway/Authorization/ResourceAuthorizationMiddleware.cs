using System.Collections;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Mesh.Gateway.Authentication;
using Mesh.Gateway.GrpcWire;
using Microsoft.Extensions.Options;

namespace Mesh.Gateway.Authorization;

/// <summary>
/// Checks that the caller's key may use the model (a LoRA adapter counting as the model
/// <c>base:adapter</c>) and the collection a request names. The fields are
/// found by name in the request's descriptor (<see cref="GatewayOptions.ResourceFields"/>), so every
/// RPC of every service is covered without per-method code. A unary or server-streaming request is
/// read whole before it is forwarded; a client- or bidirectional-streaming call is held until its
/// first message arrives and is checked, and each later message is checked as it passes
/// (<see cref="InspectedRequestStream"/>).
/// </summary>
public sealed class ResourceAuthorizationMiddleware(
    RequestDelegate next,
    GrpcMethodCatalog catalog,
    ApiKeyStore keys,
    IOptions<GatewayOptions> options)
{
    /// <summary>Checks the request message's resource fields against the caller's key, then calls the rest of the pipeline.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        var method = catalog.Find(context.Request.Path);
        if (method is null)
        {
            await next(context);
            return;
        }

        var key = context.User.GetKeyName() is { } name ? keys.FindByName(name) : null;
        var limits = options.Value;
        if (!method.IsClientStreaming)
        {
            var read = await RequestMessageReader.ReadAsync(context, method.InputType, limits.MaxRequestMessageBytes);
            if (read.Message is null)
            {
                await GrpcError.WriteAsync(context, read.Status, read.Error!);
                return;
            }

            if (key is not null && FindDenied(read.Message, key, limits.ResourceFields) is { } denied)
            {
                await GrpcError.WriteAsync(context, StatusCode.PermissionDenied, denied);
                return;
            }

            await next(context);
            return;
        }

        var (first, consumed) = await RequestMessageReader.ReadFirstAsync(context, method.InputType, limits.MaxRequestMessageBytes);
        if (first.Status != StatusCode.OK)
        {
            await GrpcError.WriteAsync(context, first.Status, first.Error!);
            return;
        }

        if (first.Message is not null && key is not null && FindDenied(first.Message, key, limits.ResourceFields) is { } refused)
        {
            await GrpcError.WriteAsync(context, StatusCode.PermissionDenied, refused);
            return;
        }

        context.Request.Body = new InspectedRequestStream(context, consumed, limits.MaxRequestMessageBytes, message =>
        {
            var later = RequestMessageReader.Decode(context, message, method.InputType, limits.MaxRequestMessageBytes);
            return later.Message is null ? later.Error
                : key is null ? null
                : FindDenied(later.Message, key, limits.ResourceFields);
        });
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

        return AdapterDenied(message, key);
    }

    // A LoRA adapter is a model variant: the Inference requests' `adapter` field is checked as the model
    // name "base:adapter" (the spelling OpenAI's `model` uses for it), so a key allowed only the base model
    // cannot reach its adapters through the separate field.
    private static string? AdapterDenied(IMessage message, ApiKey key)
    {
        var descriptor = message.Descriptor;
        if (descriptor.FindFieldByName("adapter") is not { FieldType: FieldType.String, IsRepeated: false } adapterField
            || descriptor.FindFieldByName(ResourceKinds.Model) is not { FieldType: FieldType.String, IsRepeated: false } modelField
            || adapterField.Accessor.GetValue(message) is not string { Length: > 0 } adapter
            || modelField.Accessor.GetValue(message) is not string { Length: > 0 } model
            || model.Contains(':', StringComparison.Ordinal))
        {
            return null; // no adapter, or `model` already names base:adapter and was checked as a model
        }

        var variant = $"{model}:{adapter}";
        if (key.MayUseModel(variant))
        {
            return null;
        }
        var list = key.Options.Models.Count == 0 ? "none" : string.Join(", ", key.Options.Models);
        return $"API key '{key.Name}' may not use {ResourceKinds.Model} '{variant}' (adapter '{adapter}' of '{model}'; allowed: {list}).";
    }

    private static IEnumerable<string> Values(FieldDescriptor field, IMessage message) =>
        field.Accessor.GetValue(message) switch
        {
            string single => [single],
            IEnumerable many => many.OfType<string>(),
            _ => [],
        };
}
