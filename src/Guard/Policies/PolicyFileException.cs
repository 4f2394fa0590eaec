namespace Mesh.Guard.Policies;

/// <summary>A policy file that cannot be used. The message names the file, line and column.</summary>
public sealed class PolicyFileException(string source, long line, long column, string problem, Exception? inner = null)
    : Exception($"{source}:{line}:{column}: {problem}", inner)
{
    public long Line { get; } = line;

    public long Column { get; } = column;

    public string Problem { get; } = problem;
}
