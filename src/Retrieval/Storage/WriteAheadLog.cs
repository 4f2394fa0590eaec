using Mesh.Retrieval.Storage.Records;

namespace Mesh.Retrieval.Storage;

/// <summary>
/// The write-ahead log of one collection. <see cref="Append"/> returns only after the record is on disk
/// (fsync), which is what lets the service acknowledge a write. Opening the log reads every intact record
/// and truncates a torn tail, so the next append never follows garbage. Not thread-safe: the collection
/// serialises writers.
/// </summary>
internal sealed class WriteAheadLog : IDisposable
{
    private static readonly byte[] Magic = "MESHWAL1"u8.ToArray();

    private readonly FileStream _file;

    private WriteAheadLog(string path, FileStream file)
    {
        Path = path;
        _file = file;
    }

    public string Path { get; }

    public long Length => _file.Length;

    /// <summary>Opens (or creates) a log and returns the intact records it holds.</summary>
    public static WriteAheadLog Open(string path, out List<WalRecord> records, out long truncatedBytes)
    {
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        try
        {
            records = RecordFraming.ReadRecords(file, Magic, WalRecord.Parser, out var valid);
            truncatedBytes = 0;
            if (valid == 0)
            {
                truncatedBytes = file.Length;
                file.SetLength(0);
                RecordFraming.WriteMagic(file, Magic);
                file.Flush(flushToDisk: true);
            }
            else if (valid < file.Length)
            {
                truncatedBytes = file.Length - valid;
                file.SetLength(valid);
                file.Flush(flushToDisk: true);
            }
            file.Seek(0, SeekOrigin.End);
            return new WriteAheadLog(path, file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The intact records of a log file, without repairing it (sealed segments, fuzz tests).</summary>
    public static List<WalRecord> ReadOnly(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return RecordFraming.ReadRecords(file, Magic, WalRecord.Parser, out _);
    }

    /// <summary>Appends a record and waits until it is durable.</summary>
    public void Append(WalRecord record)
    {
        var start = _file.Position;
        try
        {
            RecordFraming.WriteRecord(_file, record);
            _file.Flush(flushToDisk: true);
        }
        catch
        {
            // A failed write (disk full) must not leave half a record for the next append to follow.
            _file.SetLength(start);
            _file.Position = start;
            throw;
        }
    }

    public void Dispose() => _file.Dispose();
}
