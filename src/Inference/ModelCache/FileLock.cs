namespace Mesh.Inference.ModelCache;

/// <summary>
/// An exclusive lock on a file, held across processes and across tasks of one process: .NET opens the
/// file with <see cref="FileShare.None"/>, which on Linux takes an advisory <c>flock(LOCK_EX)</c> on a
/// new open file description. Waiters poll every 100 ms. The lock file is left in place (removing it
/// while another process waits would let two hold "the" lock). A crashed holder's lock is released by
/// the kernel when its process ends.
/// </summary>
public sealed class FileLock : IDisposable
{
    private readonly FileStream _stream;

    private FileLock(FileStream stream) => _stream = stream;

    /// <summary>Waits until the lock on <paramref name="path"/> is held.</summary>
    /// <param name="path">The lock file; created when missing.</param>
    /// <param name="onWait">Called once if the lock is busy (to tell the user another process is fetching).</param>
    /// <param name="cancellation">Stops waiting.</param>
    public static async Task<FileLock> AcquireAsync(string path, Action? onWait, CancellationToken cancellation)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var waited = false;
        while (true)
        {
            try
            {
                return new FileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException)
            {
                if (!waited)
                {
                    waited = true;
                    onWait?.Invoke();
                }

                await Task.Delay(100, cancellation);
            }
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => _stream.Dispose();
}
