using System.Reflection;

namespace Mesh.Guard.Detectors;

/// <summary>
/// The corpus of known prompt-injection and jailbreak sentences the scored detector compares
/// against, shipped as an embedded resource (Data/known-attacks.txt: one attack a line, '#' for
/// comments). Policies can add their own with a rule's <c>known_attacks</c> list.
/// </summary>
public static class KnownAttacks
{
    private static readonly Lazy<IReadOnlyList<string>> Builtin = new(Load);

    /// <summary>The built-in attack sentences, loaded from the resource on first use.</summary>
    public static IReadOnlyList<string> All => Builtin.Value;

    private static List<string> Load()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Mesh.Guard.Data.known-attacks.txt")
            ?? throw new InvalidOperationException("The known-attacks corpus is missing from the assembly.");
        using var reader = new StreamReader(stream);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            line = line.Trim();
            if (line.Length > 0 && line[0] != '#')
            {
                lines.Add(line);
            }
        }
        return lines;
    }
}
