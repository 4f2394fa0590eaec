using System.Runtime.InteropServices;

namespace Mesh.Retrieval.Native;

/// <summary>
/// The managed predicate of one filtered search, and the <c>[UnmanagedCallersOnly]</c> trampoline
/// <c>usearch_filtered_search</c> calls for each candidate key (state: a <see cref="GCHandle"/> to this object).
/// An exception must not unwind through native frames: it is recorded in <see cref="Failure"/> and the key
/// rejected; <see cref="UsearchIndex.Search"/> rethrows it after the native call returns.
/// </summary>
internal sealed class UsearchFilterCallback(Func<ulong, bool> predicate)
{
    public Func<ulong, bool> Predicate { get; } = predicate;

    /// <summary>The first exception the predicate threw, if any.</summary>
    public Exception? Failure { get; private set; }

    [UnmanagedCallersOnly]
    public static int Invoke(ulong key, nint state)
    {
        var callback = (UsearchFilterCallback)GCHandle.FromIntPtr(state).Target!;
        try
        {
            return callback.Predicate(key) ? 1 : 0;
        }
        catch (Exception exception)
        {
            callback.Failure ??= exception;
            return 0;
        }
    }
}
