using Mesh.Retrieval.Storage;
using Mesh.Retrieval.Storage.Records;
using Mesh.Retrieval.V1;

namespace Mesh.Retrieval.Tests;

/// <summary>A torn or corrupted log tail is detected by its checksum and truncated, never applied.</summary>
public sealed class WriteAheadLogTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"mesh-wal-{Guid.NewGuid():N}.log");

    [Fact]
    public void A_torn_last_record_is_truncated_and_appending_resumes_cleanly()
    {
        WriteRecords(3);
        using (var file = new FileStream(_path, FileMode.Open))
        {
            file.SetLength(file.Length - 5); // a crash in the middle of the last write
        }
        using (var log = WriteAheadLog.Open(_path, out var records, out var truncated))
        {
            Assert.Equal([1UL, 2UL], records.Select(r => r.Sequence));
            Assert.True(truncated > 0);
            log.Append(Record(3));
        }
        using (WriteAheadLog.Open(_path, out var records, out var truncated))
        {
            Assert.Equal([1UL, 2UL, 3UL], records.Select(r => r.Sequence));
            Assert.Equal(0, truncated);
        }
    }

    [Fact]
    public void A_flipped_byte_stops_replay_at_the_damaged_record()
    {
        WriteRecords(3);
        var bytes = File.ReadAllBytes(_path);
        bytes[^20] ^= 0x40; // inside the body of the last record
        File.WriteAllBytes(_path, bytes);
        using var log = WriteAheadLog.Open(_path, out var records, out _);
        Assert.Equal([1UL, 2UL], records.Select(r => r.Sequence));
    }

    [Fact]
    public void A_garbage_length_field_is_not_trusted()
    {
        WriteRecords(1);
        using (var file = new FileStream(_path, FileMode.Append))
        {
            file.Write([0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5, 6]);
        }
        using var log = WriteAheadLog.Open(_path, out var records, out var truncated);
        Assert.Single(records);
        Assert.Equal(10, truncated);
    }

    private void WriteRecords(int count)
    {
        using var log = WriteAheadLog.Open(_path, out _, out _);
        for (var i = 1; i <= count; i++)
        {
            log.Append(Record((ulong)i));
        }
    }

    private static WalRecord Record(ulong sequence)
    {
        var point = new StoredPoint { Key = sequence, Id = new PointId { Num = sequence } };
        point.Vector.Add(Enumerable.Range(0, 8).Select(i => (float)i));
        return new WalRecord { Sequence = sequence, Upsert = new UpsertOperation { Points = { point } } };
    }

    public void Dispose() => File.Delete(_path);
}
