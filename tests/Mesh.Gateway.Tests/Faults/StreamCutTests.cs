using System.Diagnostics;
using Grpc.Core;
using Mesh.Gateway.Tests.Infrastructure;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mesh.Gateway.Tests.Faults;

/// <summary>
/// A replica whose stream breaks after it has sent a message, made deterministic: a small gRPC server
/// (Inference's contract, health SERVING) sends one Generate message, waits until the caller has it
/// through the gateway, then resets the stream, either between messages or after half of the next one.
/// Between messages the caller keeps the message and gets UNAVAILABLE (YARP alone reset with CANCEL,
/// which reads as the caller's own cancellation); after half a message only a reset can say the message
/// is incomplete, and the call still fails at once rather than hanging or passing a truncated message.
/// </summary>
public sealed class StreamCutTests : IAsyncLifetime
{
    private readonly TestKey _key = new("cut", "acme", ["*"], ["*"]);
    private readonly CuttingInference _service = new();
    private WebApplication _replica = null!;
    private GatewayUnderTest _gateway = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddGrpcHealthChecks();
        builder.Services.AddSingleton(_service);
        _replica = builder.Build();
        _replica.MapGrpcService<CuttingInference>();
        _replica.MapGrpcHealthChecksService();
        await _replica.StartAsync();
        var address = _replica.GetBoundAddresses()[0];
        _gateway = await GatewayUnderTest.StartAsync(new Dictionary<string, IReadOnlyList<Uri>> { ["inference"] = [address] }, [_key]);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _replica.DisposeAsync();
    }

    [Fact]
    public async Task A_stream_cut_between_messages_keeps_what_was_sent_and_ends_UNAVAILABLE()
    {
        var (messages, failure, took) = await GenerateAsync("between");

        Assert.Equal(1, messages);
        Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
        Assert.Contains("inference replica failed while streaming its response", failure.Status.Detail, StringComparison.Ordinal);
        Assert.True(took < TimeSpan.FromSeconds(10), $"the cut call took {took} to fail");
    }

    [Fact]
    public async Task A_stream_cut_inside_a_message_fails_at_once_without_passing_the_half_message()
    {
        var (messages, failure, took) = await GenerateAsync("inside");

        Assert.Equal(1, messages);
        Assert.NotEqual(StatusCode.OK, failure.StatusCode);
        Assert.True(took < TimeSpan.FromSeconds(10), $"the cut call took {took} to fail");
    }

    private async Task<(int Messages, RpcException Failure, TimeSpan Took)> GenerateAsync(string prompt)
    {
        var client = new InferenceService.InferenceServiceClient(_gateway.Channel);
        using var call = client.Generate(new GenerateRequest { Model = "m", Prompt = prompt, MaxTokens = 8 }, _key.Metadata, DateTime.UtcNow.AddMinutes(1));
        var messages = 0;
        var clock = new Stopwatch();
        var failure = await Calls.FailureOf(async () =>
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
                messages++;
                clock.Start();
                _service.CallerHasFirstMessage.TrySetResult();
            }
        });
        return (messages, failure, clock.Elapsed);
    }

    /// <summary>Sends one message, waits until the caller has it, then breaks the stream as the prompt says.</summary>
    private sealed class CuttingInference : InferenceService.InferenceServiceBase
    {
        public TaskCompletionSource CallerHasFirstMessage { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task Generate(GenerateRequest request, IServerStreamWriter<GenerateResponse> responses, ServerCallContext context)
        {
            await responses.WriteAsync(new GenerateResponse { Text = "Once", TokenIds = { 1 } });
            await CallerHasFirstMessage.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var http = context.GetHttpContext();
            if (request.Prompt == "inside")
            {
                // A frame header promising 100 bytes, then three of them; given time to reach the caller's side of the gateway.
                await http.Response.BodyWriter.WriteAsync(new byte[] { 0, 0, 0, 0, 100, 1, 2, 3 });
                await http.Response.BodyWriter.FlushAsync();
                await Task.Delay(500);
            }

            http.Abort();
        }
    }
}
