namespace Mesh.Inference.ModelCache;

/// <summary>What a Hub reference fetches, and what <c>--model</c> then loads.</summary>
/// <param name="Files">The files to fetch.</param>
/// <param name="ModelPath">The repository-relative file to load, or null when the model is the snapshot directory itself (a Hugging Face model directory).</param>
public sealed record HubSelection(IReadOnlyList<HubFile> Files, string? ModelPath);

/// <summary>
/// Picks the files of a Hub reference from the repository's list:
/// <list type="bullet">
/// <item>a selector naming a file exactly: that file;</item>
/// <item>otherwise a quantization name: the one <c>*.gguf</c> whose name contains it, case-insensitively
/// (<c>Q4_K_M</c> matches <c>model-Q4_K_M.gguf</c>), as llama.cpp's <c>-hf org/repo:quant</c>; none or several
/// is an error listing the GGUF files;</item>
/// <item>no selector: a Hugging Face model directory (<c>config.json</c> present) fetched whole — its
/// <c>*.json</c>, <c>*.safetensors</c> and <c>tokenizer.model</c> files, as vLLM fetches a model — else
/// the repository's GGUF when there is one, or its <c>Q4_K_M</c> (llama.cpp's default), else an error.</item>
/// </list>
/// </summary>
public static class HubFileSelector
{
    /// <summary>llama.cpp's default quantization when a GGUF repository is named without one.</summary>
    public const string DefaultQuant = "Q4_K_M";

    /// <summary>Selects the files of <paramref name="reference"/> from <paramref name="files"/>.</summary>
    /// <exception cref="ModelCacheException">Nothing or more than one file matches; the message lists the candidates.</exception>
    public static HubSelection Select(ModelReference reference, IReadOnlyList<HubFile> files)
    {
        var selector = reference.Selector;
        if (selector is not null)
        {
            if (files.FirstOrDefault(f => f.Path == selector) is { } exact)
            {
                return new HubSelection([exact], exact.Path);
            }

            var quant = ByQuant(reference, files, selector);
            return new HubSelection([quant], quant.Path);
        }

        if (files.Any(f => f.Path == "config.json"))
        {
            var directory = files.Where(f => !f.Path.Contains('/', StringComparison.Ordinal)
                && (f.Path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
                    || f.Path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
                    || f.Path == "tokenizer.model")).ToList();
            if (!directory.Any(f => f.Path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)))
            {
                throw new ModelCacheException($"{reference.Text}: the repository has a config.json but no *.safetensors weights (files: {List(files.Select(f => f.Path))}); name a GGUF file or quant with :<file or quant>");
            }

            return new HubSelection(directory, null);
        }

        var ggufs = Ggufs(files);
        if (ggufs.Count == 1)
        {
            return new HubSelection(ggufs, ggufs[0].Path);
        }

        if (ggufs.Count > 1)
        {
            var chosen = ByQuant(reference, files, DefaultQuant);
            return new HubSelection([chosen], chosen.Path);
        }

        throw new ModelCacheException($"{reference.Text}: the repository is neither a Hugging Face model directory (config.json + *.safetensors) nor has a GGUF file; name a file with :<file> (files: {List(files.Select(f => f.Path))})");
    }

    private static HubFile ByQuant(ModelReference reference, IReadOnlyList<HubFile> files, string quant)
    {
        var ggufs = Ggufs(files);
        var matches = ggufs.Where(f => Path.GetFileName(f.Path).Contains(quant, StringComparison.OrdinalIgnoreCase)).ToList();
        if (matches.Count == 1)
        {
            return matches[0];
        }

        if (matches.Count > 1)
        {
            throw new ModelCacheException($"{reference.Text}: '{quant}' matches {matches.Count} GGUF files: {List(matches.Select(f => f.Path))}; name one with :<file>");
        }

        var candidates = ggufs.Count > 0 ? $"GGUF files: {List(ggufs.Select(f => f.Path))}" : $"the repository has no GGUF files (files: {List(files.Select(f => f.Path))})";
        throw new ModelCacheException($"{reference.Text}: no file is named '{quant}' and no GGUF file matches it as a quant; {candidates}");
    }

    private static List<HubFile> Ggufs(IReadOnlyList<HubFile> files) =>
        [.. files.Where(f => f.Path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))];

    private static string List(IEnumerable<string> names)
    {
        var all = names.ToList();
        return all.Count <= 20 ? string.Join(", ", all) : string.Join(", ", all.Take(20)) + $", … ({all.Count} in all)";
    }
}
