using System.Buffers.Binary;
using System.IO.Hashing;
using Google.Protobuf;

namespace Mesh.Retrieval.Storage;

/// <summary>
/// The framing of every record file (write-ahead log, snapshot points): an 8-byte magic, then records of
/// <c>[u32 length][u32 CRC-32 of the body][body]</c>, little-endian. A reader stops at the first frame that
/// is short, too long or fails its checksum: that is a torn tail (a write cut by a crash) and everything
/// from there on is discarded, never half-applied.
/// </summary>
internal static class RecordFraming
{
    /// <summary>Upper bound of one record body; a larger length field can only be garbage.</summary>
    public const int MaxRecordBytes = 512 * 1024 * 1024;

    private const int FrameHeaderBytes = 8;

    public static void WriteMagic(Stream stream, ReadOnlySpan<byte> magic) => stream.Write(magic);

    public static void WriteRecord(Stream stream, IMessage record)
    {
        var body = record.ToByteArray();
        Span<byte> header = stackalloc byte[FrameHeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32.HashToUInt32(body));
        stream.Write(header);
        stream.Write(body);
    }

    /// <summary>
    /// Reads records until the end or the first damaged frame. <paramref name="validLength"/> is the offset
    /// just past the last intact record: truncate the file there before appending.
    /// </summary>
    public static List<T> ReadRecords<T>(Stream stream, ReadOnlySpan<byte> magic, MessageParser<T> parser, out long validLength)
        where T : IMessage<T>
    {
        var records = new List<T>();
        validLength = 0;
        Span<byte> head = stackalloc byte[magic.Length];
        if (stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) != head.Length || !head.SequenceEqual(magic))
        {
            return records;
        }
        validLength = magic.Length;
        Span<byte> header = stackalloc byte[FrameHeaderBytes];
        while (true)
        {
            if (stream.ReadAtLeast(header, FrameHeaderBytes, throwOnEndOfStream: false) != FrameHeaderBytes)
            {
                return records;
            }
            var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
            var checksum = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            if (length > MaxRecordBytes || validLength + FrameHeaderBytes + length > stream.Length)
            {
                return records;
            }
            var body = new byte[length];
            if (stream.ReadAtLeast(body, body.Length, throwOnEndOfStream: false) != body.Length || Crc32.HashToUInt32(body) != checksum)
            {
                return records;
            }
            T record;
            try
            {
                record = parser.ParseFrom(body);
            }
            catch (InvalidProtocolBufferException)
            {
                return records; // a checksum collision on garbage: still a damaged tail
            }
            records.Add(record);
            validLength += FrameHeaderBytes + length;
        }
    }
}
