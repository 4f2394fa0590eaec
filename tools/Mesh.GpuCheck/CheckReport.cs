using System.Text.Json.Serialization;

namespace Mesh.GpuCheck;

/// <summary>One kernel's correctness check against the CPU reference.</summary>
internal sealed record CorrectnessResult(string Kernel, string Shape, double RelativeError, double Threshold, bool AllWritten, bool Passed, string Note = "");

/// <summary>
/// One timed kernel: median milliseconds over repeated event-timed runs, and the bytes or
/// floating-point operations it must move or do (what GB/s and TFLOP/s are computed from).
/// <see cref="Baseline"/> names the PyTorch operation torch_baseline.py times for the same shape.
/// </summary>
internal sealed record TimingResult(string Kernel, string Shape, double Milliseconds, double Bytes, double Flops, string Baseline, int[] Dims);

/// <summary>End-to-end decode throughput of one backend; <see cref="Note"/> says how its tokens compare with its peers'.</summary>
internal sealed record DecodeResult(string Backend, string Model, int Steps, double TokensPerSecond, string Note = "");

/// <summary>Everything one GPU check run found; written as JSON for torch_baseline.py to merge.</summary>
internal sealed record CheckReport(
    string Device, string Date, List<CorrectnessResult> Correctness, List<TimingResult> Timings, List<DecodeResult> Decode, List<string> Failures);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(CheckReport))]
internal sealed partial class CheckReportJson : JsonSerializerContext;
