using Mesh.Inference.Tokenization;
using Mesh.Inference.Tests.Tokenization;

namespace Mesh.Inference.Tests.Architectures;

/// <summary>TinyStories-656K in ../shared/models: the GGUF, its Hugging Face directory, and its vocabulary.</summary>
internal static class ArchitectureModels
{
    private static readonly Lazy<SentencePieceVocabulary> Vocabulary = new(() => TokenizerModelsFixture.FromGguf(TinyStoriesGguf).Vocabulary);

    public static string TinyStoriesFolder => Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(TestModels.Stories260KGguf))!, "TinyStories-656K");

    public static string TinyStoriesGguf => Existing(Path.Combine(TinyStoriesFolder, "TinyStories-656K-F32.gguf"));

    public static string TinyStoriesHf => Existing(Path.Combine(TinyStoriesFolder, "hf", "config.json")) is var config ? Path.GetDirectoryName(config)! : "";

    /// <summary>TinyStories-656K's 2,048-token vocabulary, read from the GGUF.</summary>
    public static SentencePieceVocabulary TinyStoriesVocabulary => Vocabulary.Value;

    private static string Existing(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"Test model missing: {path} (see ../shared/models/README.md)", path);
}
