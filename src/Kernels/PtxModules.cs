using System.Reflection;
using System.Text.RegularExpressions;

namespace Mesh.Kernels;

/// <summary>One hand-written PTX file embedded in this assembly.</summary>
/// <param name="Name">File name without extension, e.g. "matvec".</param>
/// <param name="Text">The PTX source.</param>
/// <param name="Targets">The targets its <c>// mesh-targets:</c> header declares (what CI assembles it for).</param>
/// <param name="Entries">Its <c>.visible .entry</c> kernel names.</param>
public sealed record PtxModule(string Name, string Text, IReadOnlyList<string> Targets, IReadOnlyList<string> Entries);

/// <summary>
/// The PTX kernels shipped in this assembly (src/Kernels/Ptx/*.ptx as embedded resources), read once.
/// The same header scripts/ptxas-check.sh reads names each file's targets, so what CI proves
/// assembles is what the backend loads.
/// </summary>
public static partial class PtxModules
{
    private const string Prefix = "Mesh.Kernels.Ptx.";
    private static readonly Lazy<IReadOnlyList<PtxModule>> Modules = new(Load);

    /// <summary>Every embedded module, ordered by name.</summary>
    public static IReadOnlyList<PtxModule> All => Modules.Value;

    /// <summary>The module with the given file name.</summary>
    public static PtxModule Get(string name) =>
        All.FirstOrDefault(m => m.Name == name) ?? throw new KeyNotFoundException($"no embedded PTX module named '{name}'");

    private static IReadOnlyList<PtxModule> Load()
    {
        var assembly = typeof(PtxModules).Assembly;
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".ptx", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => Parse(n[Prefix.Length..^4], Read(assembly, n)))
            .ToList();
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    internal static PtxModule Parse(string name, string text)
    {
        var header = TargetsHeader().Match(text);
        var targets = header.Success
            ? header.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [];
        var entries = EntryName().Matches(text).Select(m => m.Groups[1].Value).ToList();
        return new PtxModule(name, text, targets, entries);
    }

    [GeneratedRegex(@"^// *mesh-targets: *(.+)$", RegexOptions.Multiline)]
    private static partial Regex TargetsHeader();

    [GeneratedRegex(@"\.visible\s+\.entry\s+([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex EntryName();
}
