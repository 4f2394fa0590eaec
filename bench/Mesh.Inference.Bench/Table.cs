namespace Mesh.Inference.Bench;

/// <summary>Prints a Markdown table, so a run's output can go straight into the README.</summary>
internal sealed class Table(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params object[] cells) => _rows.Add([.. cells.Select(c => c switch
    {
        double d => d.ToString(d >= 100 ? "F0" : d >= 10 ? "F1" : "F2", System.Globalization.CultureInfo.InvariantCulture),
        float f => f.ToString("F2", System.Globalization.CultureInfo.InvariantCulture),
        _ => c.ToString() ?? "",
    })]);

    public void Print()
    {
        Console.WriteLine("| " + string.Join(" | ", headers) + " |");
        Console.WriteLine("|" + string.Concat(headers.Select(_ => "---|")));
        foreach (var row in _rows)
        {
            Console.WriteLine("| " + string.Join(" | ", row) + " |");
        }

        Console.WriteLine();
    }
}
