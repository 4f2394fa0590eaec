using System.Text.Json;
using Mesh.Kernels;
using Mesh.Kernels.Driver;

namespace Mesh.GpuCheck;

/// <summary>
/// The GPU check (scripts/gpu-check.sh runs it): every kernel against its CPU reference on fresh
/// random inputs, the CUDA backend against the CPU backend, kernel timings, and end-to-end decode
/// tokens/s. Prints tables and writes a JSON report (first argument, default gpu-check.json) that
/// torch_baseline.py merges with PyTorch timings of the same shapes. Exit code 1 when any check fails.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        var output = args.Length > 0 ? args[0] : "gpu-check.json";
        var quick = args.Contains("--quick");
        var availability = CudaAvailability.Check();
        if (!availability.IsUsable)
        {
            Console.Error.WriteLine($"gpu-check: {availability.Reason}");
            return 2;
        }
        Console.WriteLine($"gpu-check: {availability.Reason}, driver CUDA {CudaDriver.DriverVersion}");

        var device = CudaDriver.GetDevice(0);
        using var context = device.RetainPrimaryContext();
        using var kernels = new CudaKernels(context);
        using var stream = CudaStream.Create();
        var random = new Random(); // fresh inputs every run
        var failures = new List<string>();

        var checks = new KernelChecks(kernels, random);
        Guard("kernel checks", checks.RunAll, failures);
        Guard("backend agreement", () => DecodeBenchmark.CheckAgreement(checks.Results), failures);
        context.MakeCurrent();
        PrintCorrectness(checks.Results);
        failures.AddRange(checks.Results.Where(r => !r.Passed).Select(r => $"{r.Kernel} {r.Shape}: error {r.RelativeError:E2} > {r.Threshold:E0} or unwritten outputs"));

        var timings = new KernelTimings(kernels, stream, random);
        Guard("timings", timings.RunAll, failures);
        PrintTimings(timings.Results);

        var decode = new List<DecodeResult>();
        Guard("decode throughput", () => decode.AddRange(DecodeBenchmark.Throughput(quick ? 16 : 128, quick ? 2 : 8)), failures);
        Guard("decode against llama.cpp", () => decode.AddRange(DecodeBenchmark.AgainstLlamaCpp(quick ? 16 : 128, quick ? 4 : 32)), failures);
        foreach (var d in decode)
        {
            Console.WriteLine($"decode {d.Backend,-30} {d.Model}: {d.TokensPerSecond,8:F1} tokens/s over {d.Steps} steps {d.Note}");
        }

        var report = new CheckReport(device.ToString(), DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'"), checks.Results, timings.Results, decode, failures);
        File.WriteAllText(output, JsonSerializer.Serialize(report, CheckReportJson.Default.CheckReport));
        Console.WriteLine($"gpu-check: report written to {output}");
        foreach (var f in failures)
        {
            Console.WriteLine($"FAILED: {f}");
        }
        return failures.Count == 0 ? 0 : 1;
    }

    private static void Guard(string stage, Action action, List<string> failures)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is CudaException or ArgumentException or InvalidOperationException or NotSupportedException or IOException or LLama.Exceptions.RuntimeError)
        {
            failures.Add($"{stage}: {e.GetType().Name}: {e.Message}");
            Console.Error.WriteLine($"gpu-check: {stage} failed: {e}");
        }
    }

    private static void PrintCorrectness(List<CorrectnessResult> results)
    {
        Console.WriteLine();
        Console.WriteLine($"{"kernel",-34} {"shape",-52} {"rel. error",10} {"limit",8} result");
        foreach (var r in results)
        {
            Console.WriteLine($"{r.Kernel,-34} {r.Shape,-52} {r.RelativeError,10:E2} {r.Threshold,8:E0} {(r.Passed ? "pass" : "FAIL")} {r.Note}");
        }
    }

    private static void PrintTimings(List<TimingResult> results)
    {
        Console.WriteLine();
        Console.WriteLine($"{"kernel",-46} {"shape",-44} {"ms",9} {"GB/s",8} {"TFLOP/s",8}");
        foreach (var t in results)
        {
            var gbs = t.Bytes > 0 ? t.Bytes / (t.Milliseconds * 1e6) : double.NaN;
            var tflops = t.Flops > 0 ? t.Flops / (t.Milliseconds * 1e9) : double.NaN;
            Console.WriteLine($"{t.Kernel,-46} {t.Shape,-44} {t.Milliseconds,9:F4} {gbs,8:F0} {tflops,8:F1}");
        }
    }
}
