using System.Globalization;
using System.Runtime.CompilerServices;
using Grpc.Health.V1;
using Mesh.Gateway.GrpcWire;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Mesh.Gateway.Health;

/// <summary>
/// Judges the <c>grpc.health.v1</c> probes: a destination is healthy when the call ends with gRPC
/// status OK and the answer is SERVING. After <c>GrpcHealth.Threshold</c> failures in a row (default 2)
/// it is taken out of load balancing; the first good probe puts it back.
/// </summary>
public sealed partial class GrpcHealthCheckPolicy(IDestinationHealthUpdater healthUpdater, ILogger<GrpcHealthCheckPolicy> logger)
    : IActiveHealthCheckPolicy
{
    private const int DefaultThreshold = 2;
    private readonly ConditionalWeakTable<DestinationState, StrongBox<int>> _failures = [];

    /// <inheritdoc/>
    public string Name => GrpcHealthProbe.PolicyName;

    /// <inheritdoc/>
    public void ProbingCompleted(ClusterState cluster, IReadOnlyList<DestinationProbingResult> probingResults)
    {
        var threshold = cluster.Model.Config.Metadata?.GetValueOrDefault(GrpcHealthProbe.ThresholdMetadataKey) is { } text
            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var t) && t > 0 ? t : DefaultThreshold;

        var updates = new List<NewActiveDestinationHealth>(probingResults.Count);
        foreach (var result in probingResults)
        {
            var failures = _failures.GetOrCreateValue(result.Destination);
            var (serving, reason) = Judge(result);
            failures.Value = serving ? 0 : failures.Value + 1;
            if (!serving)
            {
                Log.ProbeFailed(logger, cluster.ClusterId, result.Destination.DestinationId, reason, failures.Value, threshold);
            }

            var health = serving ? DestinationHealth.Healthy
                : failures.Value >= threshold ? DestinationHealth.Unhealthy
                : result.Destination.Health.Active; // not yet enough evidence: keep what it was
            updates.Add(new NewActiveDestinationHealth(result.Destination, health));
        }

        healthUpdater.SetActive(cluster, updates);
    }

    private static (bool Serving, string Reason) Judge(DestinationProbingResult result)
    {
        if (result.Response is not { } response)
        {
            return (false, result.Exception?.Message ?? "no response");
        }

        if (!response.IsSuccessStatusCode)
        {
            return (false, $"HTTP {(int)response.StatusCode}");
        }

        var status = response.TrailingHeaders.TryGetValues("grpc-status", out var trailer) ? trailer.FirstOrDefault()
            : response.Headers.TryGetValues("grpc-status", out var header) ? header.FirstOrDefault()
            : null;
        if (status != "0")
        {
            return (false, $"grpc-status {status ?? "missing"}");
        }

        // The body was buffered by ProbeResponseBufferingHandler: this reads memory, not the network.
        using var body = response.Content.ReadAsStream();
        using var buffer = new MemoryStream();
        body.CopyTo(buffer);
        HealthCheckResponse? answer = null;
        var parser = new GrpcFrameParser(1024, m => answer ??= m.Skipped || m.Compressed ? null : HealthCheckResponse.Parser.ParseFrom(m.Payload.Span));
        try
        {
            parser.Push(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        }
        catch (Google.Protobuf.InvalidProtocolBufferException ex)
        {
            return (false, $"unreadable HealthCheckResponse: {ex.Message}");
        }

        return answer?.Status == HealthCheckResponse.Types.ServingStatus.Serving
            ? (true, "")
            : (false, $"status {answer?.Status.ToString() ?? "unreadable"}");
    }

    private static partial class Log
    {
        /// <summary>Logs a failed probe: the destination, why, and how many failures in a row out of the threshold.</summary>
        [LoggerMessage(Level = LogLevel.Warning,
            Message = "gRPC health probe of {Cluster}/{Destination} failed ({Reason}): {Failures} failures in a row; taken out at {Threshold}")]
        public static partial void ProbeFailed(ILogger logger, string cluster, string destination, string reason, int failures, int threshold);
    }
}
