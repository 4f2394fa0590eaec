namespace Mesh.Inference.ModelCache;

/// <summary>
/// A model reference that cannot be resolved, fetched or verified: a malformed reference, a file the
/// hub does not list, a checksum mismatch, an offline miss, an unsafe file name or a size over a limit.
/// The message says what to fix. Derives from <see cref="InvalidOperationException"/> so that the
/// command line and the host report it in one line, as other configuration errors.
/// </summary>
public sealed class ModelCacheException : InvalidOperationException
{
    /// <summary>Creates the exception with a message that names the reference and what to do.</summary>
    public ModelCacheException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception wrapping the network or I/O error that caused it.</summary>
    /// <param name="message">What failed and what to do.</param>
    /// <param name="inner">The cause.</param>
    /// <param name="resumable">True when the failure is a cut transfer whose partial file a retry continues.</param>
    public ModelCacheException(string message, Exception inner, bool resumable = false)
        : base(message, inner) => Resumable = resumable;

    /// <summary>Creates the exception for a transfer that ended early.</summary>
    /// <param name="message">What failed and what to do.</param>
    /// <param name="resumable">True when a retry continues the partial file.</param>
    public ModelCacheException(string message, bool resumable)
        : base(message) => Resumable = resumable;

    /// <summary>True when the transfer was cut and a retry resumes it from the partial file.</summary>
    public bool Resumable { get; }
}
