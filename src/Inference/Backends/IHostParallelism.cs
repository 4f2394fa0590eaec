namespace Mesh.Inference.Backends;

/// <summary>
/// A backend whose CPU workers the engine may borrow between forward passes, for host work that
/// splits into independent items (sampling the rows of a step). Used only from the engine's thread,
/// never during <see cref="IInferenceBackend.Forward"/>.
/// </summary>
internal interface IHostParallelism
{
    /// <summary>
    /// Runs <paramref name="body"/>(item) for every item in [0, <paramref name="count"/>) on the
    /// backend's workers; <paramref name="work"/> estimates the multiply-adds, so small work stays on
    /// the calling thread.
    /// </summary>
    void For(int count, long work, Action<int> body);
}
