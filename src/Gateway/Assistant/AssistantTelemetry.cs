using System.Diagnostics;
using Mesh.ServiceDefaults;

namespace Mesh.Gateway.Assistant;

/// <summary>
/// The assistant's spans: <c>assistant.ask</c> with one child per stage (<c>assistant.input_guard</c>,
/// <c>assistant.retrieval</c>, <c>assistant.prompt</c>, <c>assistant.generation</c>; the output
/// guard's CheckStream runs inside generation and is its child). The gRPC client calls of each stage are children of its span, and
/// their <c>traceparent</c> carries the trace into Guard, Retrieval and Inference.
/// </summary>
public static class AssistantTelemetry
{
    /// <summary>Name of the ActivitySource (traced by ServiceDefaults' <c>Mesh.*</c> rule).</summary>
    public const string SourceName = MeshServiceDefaults.TelemetryPrefix + "Gateway.Assistant";

    internal static readonly ActivitySource Source = new(SourceName);
}
