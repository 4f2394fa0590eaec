using System.Reflection;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Mesh.ServiceDefaults;

/// <summary>
/// Binds every gRPC service as grpc-dotnet's own binder does, with one difference: a request message
/// that fails to parse (for example a string field holding invalid UTF-8) is answered with
/// INVALID_ARGUMENT and a message naming the message type and the fault, instead of UNKNOWN.
/// Deserialization runs before any interceptor sees the call, so the request marshaller is the one
/// place this can be done for every service at once. Like grpc-dotnet's binder, every method is
/// routed for POST only (gRPC over HTTP/2 is always POST): any other method gets 405 from routing
/// and never reaches the handler.
/// </summary>
internal sealed class MalformedRequestServiceMethodProvider<TService> : IServiceMethodProvider<TService>
    where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        var bind = FindBindServiceMethod(typeof(TService));
        if (bind is null)
        {
            return;
        }

        // Generated BindService(binder, null) announces every method; handlers come from TService itself.
        bind.Invoke(null, [new Binder(context), null]);
    }

    private static MethodInfo? FindBindServiceMethod(Type serviceType)
    {
        for (var type = serviceType; type is not null; type = type.BaseType)
        {
            var attribute = type.GetCustomAttribute<BindServiceMethodAttribute>(inherit: false);
            if (attribute is not null)
            {
                return attribute.BindType.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                    .FirstOrDefault(m => m.Name == attribute.BindMethodName && m.GetParameters() is [var first, _] && first.ParameterType == typeof(ServiceBinderBase));
            }
        }

        return null;
    }

    private static Method<TRequest, TResponse> Strict<TRequest, TResponse>(Method<TRequest, TResponse> method)
        where TRequest : class
        where TResponse : class
    {
        var inner = method.RequestMarshaller;
        var marshaller = new Marshaller<TRequest>(inner.ContextualSerializer, context =>
        {
            try
            {
                return inner.ContextualDeserializer(context);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"the {typeof(TRequest).Name} message is malformed: {e.Message} Send well-formed protobuf with valid UTF-8 in every string field."));
            }
        });
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, marshaller, method.ResponseMarshaller);
    }

    /// <summary>
    /// The service's implementation of <paramref name="name"/> as a handler delegate, and its
    /// attributes (with the service's) as endpoint metadata — found once, by exact signature.
    /// </summary>
    private static (TDelegate Handler, List<object> Metadata) Implementation<TDelegate>(string name, params Type[] parameters)
        where TDelegate : Delegate
    {
        var method = typeof(TService).GetMethod(name, BindingFlags.Public | BindingFlags.Instance, parameters)
            ?? throw new InvalidOperationException($"{typeof(TService).Name} has no method {name}");
        return (method.CreateDelegate<TDelegate>(),
        [
            .. typeof(TService).GetCustomAttributes(inherit: true),
            .. method.GetCustomAttributes(inherit: true),
            // What grpc-dotnet's own binder adds (ProviderServiceBinder): POST only, CORS preflight allowed.
            new HttpMethodMetadata([HttpMethods.Post], acceptCorsPreflight: true),
        ]);
    }

    private sealed class Binder(ServiceMethodProviderContext<TService> context) : ServiceBinderBase
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Implementation<UnaryServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(TRequest), typeof(ServerCallContext));
            context.AddUnaryMethod(Strict(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Implementation<ServerStreamingServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(TRequest), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            context.AddServerStreamingMethod(Strict(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Implementation<ClientStreamingServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(IAsyncStreamReader<TRequest>), typeof(ServerCallContext));
            context.AddClientStreamingMethod(Strict(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Implementation<DuplexStreamingServerMethod<TService, TRequest, TResponse>>(method.Name, typeof(IAsyncStreamReader<TRequest>), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext));
            context.AddDuplexStreamingMethod(Strict(method), metadata, invoker);
        }
    }
}
