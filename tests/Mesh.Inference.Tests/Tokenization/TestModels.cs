namespace Mesh.Inference.Tests.Tokenization;

/// <summary>The read-only model files in ../shared/models beside the repository root.</summary>
internal static class TestModels
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln")))
            {
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "models"));
            }
        }

        throw new InvalidOperationException($"No Mesh.sln above {AppContext.BaseDirectory}; the tests run from the repository.");
    });

    public static string Stories260KGguf => Find("stories260K/stories260K.gguf");

    public static string Stories260KTokenizer => Find("stories260K/tok512.bin");

    public static string TinyRandomGguf => Find("llama-2-tiny-random/llama-2-tiny-random.gguf");

    public static string TinyStories656KGguf => Find("TinyStories-656K/TinyStories-656K-F32.gguf");

    public static string Llama2TokenizerModel => Find("llama2-tokenizer/tokenizer.model");

    private static string Find(string relative)
    {
        string path = Path.Combine(Root.Value, relative);
        return File.Exists(path) ? path : throw new FileNotFoundException($"Test model missing: {path} (see ../shared/models/README.md)", path);
    }
}
