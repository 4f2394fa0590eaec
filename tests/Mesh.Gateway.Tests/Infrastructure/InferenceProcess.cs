using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Mesh.Tests.Shared;

namespace Mesh.Gateway.Tests.Infrastructure;

/// <summary>
/// The built Mesh.Inference host (next to the tests) run as its own process on loopback ports, serving
/// stories260K, so a fault test can SIGKILL it: an in-process host can only be stopped, and a stop drains
/// its calls gracefully, which is not what a crashed or evicted replica does.
/// </summary>
public sealed class InferenceProcess : IDisposable
{
    private readonly Process _process;

    private InferenceProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    /// <summary>The gRPC endpoint.</summary>
    public Uri Address { get; }

    /// <summary>Starts the host and waits (up to two minutes: a loaded machine) until its gRPC health check answers SERVING.</summary>
    public static async Task<InferenceProcess> StartAsync(params string[] extraArgs)
    {
        var grpcPort = LoopbackPort.Free();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "Mesh.Inference.dll"),
            $"--Mesh:Endpoints:Grpc=http://127.0.0.1:{grpcPort}", "--Mesh:Endpoints:Http=",
            "--Logging:LogLevel:Default=Warning", .. MeshFixture.InferenceArgs, .. extraArgs])
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start Mesh.Inference");
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var host = new InferenceProcess(process, new Uri($"http://127.0.0.1:{grpcPort}"));
        using var channel = GrpcChannel.ForAddress(host.Address);
        var health = new Grpc.Health.V1.Health.HealthClient(channel);
        var patience = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            try
            {
                if ((await health.CheckAsync(new HealthCheckRequest())).Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return host;
                }
            }
            catch (RpcException) when (DateTime.UtcNow < patience && !process.HasExited)
            {
            }

            if (DateTime.UtcNow >= patience || process.HasExited)
            {
                host.Dispose();
                throw new InvalidOperationException($"Mesh.Inference did not become healthy on {host.Address}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// SIGSTOP: the process keeps its sockets but answers nothing (a hung or partitioned replica); the
    /// calls it holds stay open, so a test can count them before it kills the process.
    /// </summary>
    public void Freeze()
    {
        using var kill = Process.Start("kill", ["-STOP", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -STOP {_process.Id} failed");
        }
    }

    /// <summary>SIGKILL: no graceful shutdown, no drained calls, connections dropped by the kernel.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: false);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }
}
