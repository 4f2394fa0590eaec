namespace Mesh.Inference.ModelCache;

/// <summary>Progress of one file's download, reported at most every <see cref="BlobDownloader.ProgressInterval"/> and once at the end.</summary>
/// <param name="File">The file (repository path or URL file name).</param>
/// <param name="Bytes">Bytes present so far, a resumed prefix included.</param>
/// <param name="TotalBytes">The file's size in bytes.</param>
/// <param name="BytesPerSecond">Transfer rate of this attempt.</param>
/// <param name="Done">True on the final report.</param>
public sealed record DownloadProgress(string File, long Bytes, long TotalBytes, double BytesPerSecond, bool Done);
