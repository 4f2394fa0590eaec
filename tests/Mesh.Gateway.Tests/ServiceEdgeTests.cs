using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using Mesh.ServiceDefaults;
using Mesh.ServiceDefaults.Errors;
using Mesh.Gateway.Tests.Infrastructure;
using Mesh.ServiceDefaults.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using InferenceV1 = Mesh.Inference.V1;
using RetrievalV1 = Mesh.Retrieval.V1;

namespace Mesh.Gateway.Tests;

/// <summary>
/// ServiceDefaults' one mapping of exceptions to gRPC statuses, over real gRPC to a host built with
/// <see cref="MeshHost.AddMeshHost"/>: unary (Tokenize), server-streaming (Generate) and duplex
/// (Import) handlers that throw what the request asks for.
/// </summary>
public sealed class ServiceEdgeTests : IAsyncLifetime
{
    private readonly LogCapture _logs = new();
    private WebApplication _app = null!;
    private GrpcChannel _channel = null!;

    public async Task InitializeAsync()
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder(
            ["--Mesh:Endpoints:Grpc=http://127.0.0.1:0", "--Mesh:Endpoints:Http=http://127.0.0.1:0"])
            .AddMeshHost("mesh-edge-test", grpcPort: 0, httpPort: 0);
        builder.Logging.AddProvider(_logs);
        _app = builder.Build();
        _app.MapMeshDefaults();
        _app.MapGrpcService<ThrowingInference>();
        _app.MapGrpcService<ThrowingRetrieval>();
        await _app.StartAsync();
        _channel = GrpcChannel.ForAddress(_app.GetGrpcAddress());
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _app.DisposeAsync();
    }

    public static TheoryData<string> CallTypes => ["unary", "server-streaming", "duplex"];

    [Theory]
    [MemberData(nameof(CallTypes))]
    public async Task A_service_exception_ends_the_call_with_its_status_message_and_trailers(string callType)
    {
        var failure = await Calls.FailureOf(() => Call(callType, "service", "r-service"));

        Assert.Equal(StatusCode.NotFound, failure.StatusCode);
        Assert.Equal("collection 'x' does not exist; create it first", failure.Status.Detail);
        Assert.Equal("250", failure.Trailers.GetValue(ServiceException.RetryAfterMsTrailer));
        Assert.Empty(_logs.Errors("r-service"));
    }

    [Theory]
    [MemberData(nameof(CallTypes))]
    public async Task An_RpcException_passes_through_unchanged(string callType)
    {
        var failure = await Calls.FailureOf(() => Call(callType, "rpc", "r-rpc"));

        Assert.Equal(StatusCode.PermissionDenied, failure.StatusCode);
        Assert.Equal("not yours", failure.Status.Detail);
    }

    [Theory]
    [MemberData(nameof(CallTypes))]
    public async Task Any_other_exception_is_INTERNAL_with_a_generic_message_and_logged_once_with_the_request_id(string callType)
    {
        var requestId = $"r-bug-{callType}";

        var failure = await Calls.FailureOf(() => Call(callType, "bug", requestId));

        Assert.Equal(StatusCode.Internal, failure.StatusCode);
        Assert.Contains(requestId, failure.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("/secret/path", failure.Status.Detail, StringComparison.Ordinal);
        var logged = Assert.Single(_logs.Errors(requestId));
        Assert.IsType<InvalidOperationException>(logged.Exception);
    }

    [Fact]
    public async Task A_call_the_caller_cancels_is_not_logged_as_a_failure()
    {
        var client = new InferenceV1.InferenceService.InferenceServiceClient(_channel);
        using var cts = new CancellationTokenSource();
        var metadata = new Metadata { { "x-request-id", "r-cancel" }, { "x-throw", "wait" } };
        using var call = client.Generate(new InferenceV1.GenerateRequest(), metadata, cancellationToken: cts.Token);
        await ThrowingInference.Waiting.Task.WaitAsync(TimeSpan.FromSeconds(30));

        cts.Cancel();
        var failure = await Calls.FailureOf(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.Equal(StatusCode.Cancelled, failure.StatusCode);
        var handled = await ThrowingInference.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(handled);
        await Task.Delay(200); // the interceptor runs right after the handler ends
        Assert.Empty(_logs.Errors("r-cancel"));
    }

    private async Task Call(string callType, string kind, string requestId)
    {
        var metadata = new Metadata { { "x-request-id", requestId }, { "x-throw", kind } };
        switch (callType)
        {
            case "unary":
                await new InferenceV1.InferenceService.InferenceServiceClient(_channel).TokenizeAsync(new(), metadata);
                break;
            case "server-streaming":
                using (var call = new InferenceV1.InferenceService.InferenceServiceClient(_channel).Generate(new(), metadata))
                {
                    while (await call.ResponseStream.MoveNext(CancellationToken.None))
                    {
                    }
                }

                break;
            default:
                using (var call = new RetrievalV1.RetrievalService.RetrievalServiceClient(_channel).Import(metadata))
                {
                    await call.RequestStream.WriteAsync(new RetrievalV1.ImportRequest { Collection = "x" });
                    await call.RequestStream.CompleteAsync();
                    while (await call.ResponseStream.MoveNext(CancellationToken.None))
                    {
                    }
                }

                break;
        }
    }

    private static Exception Failure(ServerCallContext context) => context.RequestHeaders.GetValue("x-throw") switch
    {
        "service" => new ServiceException(StatusCode.NotFound, "collection 'x' does not exist; create it first",
            new Metadata { { ServiceException.RetryAfterMsTrailer, "250" } }),
        "rpc" => new RpcException(new Status(StatusCode.PermissionDenied, "not yours")),
        _ => new InvalidOperationException("failed to open /secret/path"),
    };

    private sealed class ThrowingInference : InferenceV1.InferenceService.InferenceServiceBase
    {
        public static readonly TaskCompletionSource Waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public static readonly TaskCompletionSource<bool> Cancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override Task<InferenceV1.TokenizeResponse> Tokenize(InferenceV1.TokenizeRequest request, ServerCallContext context) =>
            throw Failure(context);

        public override async Task Generate(InferenceV1.GenerateRequest request, IServerStreamWriter<InferenceV1.GenerateResponse> responseStream, ServerCallContext context)
        {
            if (context.RequestHeaders.GetValue("x-throw") == "wait")
            {
                Waiting.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                finally
                {
                    Cancelled.TrySetResult(context.CancellationToken.IsCancellationRequested);
                }
            }

            await responseStream.WriteAsync(new InferenceV1.GenerateResponse { Text = "a" });
            throw Failure(context);
        }
    }

    private sealed class ThrowingRetrieval : RetrievalV1.RetrievalService.RetrievalServiceBase
    {
        public override async Task Import(IAsyncStreamReader<RetrievalV1.ImportRequest> requestStream, IServerStreamWriter<RetrievalV1.ImportProgress> responseStream, ServerCallContext context)
        {
            await requestStream.MoveNext();
            throw Failure(context);
        }
    }

    /// <summary>Error records of <see cref="ServiceExceptionInterceptor"/>, by request id.</summary>
    private sealed class LogCapture : ILoggerProvider
    {
        private readonly ConcurrentQueue<(string Message, Exception? Exception)> _errors = new();

        public IEnumerable<(string Message, Exception? Exception)> Errors(string requestId) =>
            _errors.Where(e => e.Message.Contains(requestId, StringComparison.Ordinal));

        public ILogger CreateLogger(string categoryName) =>
            categoryName == typeof(ServiceExceptionInterceptor).FullName ? new Logger(_errors) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<(string, Exception?)> errors) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (logLevel >= LogLevel.Error)
                {
                    errors.Enqueue((formatter(state, exception), exception));
                }
            }
        }
    }
}
