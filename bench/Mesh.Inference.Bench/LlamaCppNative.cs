using LLama.Native;

namespace Mesh.Inference.Bench;

/// <summary>
/// LLamaSharp's native library, configured once before its first use: its configuration can only be
/// set before the library loads, and both the quantizer and <see cref="LlamaCppSubject"/> load it.
/// </summary>
internal static class LlamaCppNative
{
    private static readonly Lazy<bool> Configured = new(() =>
    {
        // llama.cpp logs every load to stderr.
        NativeLibraryConfig.All.WithLogCallback((_, _) => { });
        NativeApi.llama_empty_call(); // loads the library now, so later P/Invokes find it
        return true;
    });

    /// <summary>Configures and loads the library on the first call; later calls do nothing.</summary>
    public static void EnsureLoaded() => _ = Configured.Value;
}
