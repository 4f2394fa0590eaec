namespace Mesh.Guard.Policies;

/// <summary>A policy file that cannot be used. The message names the file, line and column.</summary>
public sealed class PolicyFileException(string source, long line, long column, string problem, Exception? inner = null)
    : Exception($"{source}:{line}:{column}: {problem}", inner)
{
    /// <summary>The 1-based line of the problem.</summary>
    public long Line { get; } = line;

    /// <summary>The 1-based column of the problem.</summary>
    public long Column { get; } = column;

    /// <summary>What is wrong and what to fix, without the position.</summary>
    public string Problem { get; } = problem;
}
