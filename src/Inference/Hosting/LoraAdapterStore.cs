using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Mesh.Inference.Engine;
using Mesh.Inference.Models.Lora;

namespace Mesh.Inference.Hosting;

/// <summary>
/// The LoRA adapters loaded over one served model, by name; loaded and unloaded at run time (the
/// admin RPCs). A request holds its adapter object, so unloading never disturbs one in flight; a name
/// loaded again gets a new prefix-cache identity (<see cref="LoraAdapter.CacheKey"/>).
/// </summary>
public sealed partial class LoraAdapterStore(InferenceEngine engine)
{
    /// <summary>Adapters one model holds at most; a further load is refused.</summary>
    public const int MaxAdapters = 64;

    private readonly ConcurrentDictionary<string, LoraAdapter> _adapters = new(StringComparer.Ordinal);
    private readonly object _loading = new();

    /// <summary>The loaded adapters, by name.</summary>
    public IEnumerable<LoraAdapter> Adapters => _adapters.Values.OrderBy(a => a.Name, StringComparer.Ordinal);

    /// <summary>Whether <paramref name="name"/> is a valid adapter name: 1–64 of letters, digits, '.', '_', '-' (no ':', which separates it from the model in OpenAI's <c>model</c>).</summary>
    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    /// <summary>The adapter named <paramref name="name"/>, or false.</summary>
    public bool TryGet(string name, out LoraAdapter adapter) => _adapters.TryGetValue(name, out adapter!);

    /// <summary>
    /// Reads the adapter at <paramref name="path"/> (GGUF file or PEFT directory), checked against the
    /// model, and serves it as <paramref name="name"/>, replacing one of that name.
    /// </summary>
    /// <exception cref="ArgumentException">An invalid name.</exception>
    /// <exception cref="NotSupportedException">The model's backend does not apply adapters.</exception>
    /// <exception cref="InvalidOperationException"><see cref="MaxAdapters"/> are loaded.</exception>
    /// <exception cref="FileNotFoundException">Nothing is at the path.</exception>
    /// <exception cref="Models.ModelFormatException">The file is not an adapter of this model.</exception>
    public LoraAdapter Load(string name, string path)
    {
        if (!IsValidName(name))
        {
            throw new ArgumentException($"adapter name '{name}' is invalid: use 1-64 letters, digits, '.', '_' or '-'", nameof(name));
        }

        if (!engine.Backend.SupportsLoraAdapters)
        {
            throw new NotSupportedException($"the {engine.Backend.Name} backend does not apply LoRA adapters; serve model '{engine.Model.Id}' with --device cpu");
        }

        var adapter = LoraAdapterFile.Read(path, name, engine.Model.Config);
        lock (_loading)
        {
            if (!_adapters.ContainsKey(name) && _adapters.Count >= MaxAdapters)
            {
                throw new InvalidOperationException($"model '{engine.Model.Id}' already serves {MaxAdapters} adapters; unload one first");
            }

            _adapters[name] = adapter;
        }

        return adapter;
    }

    /// <summary>Stops serving <paramref name="name"/>; false when it was not loaded.</summary>
    public bool Unload(string name) => _adapters.TryRemove(name, out _);

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex NamePattern();
}
