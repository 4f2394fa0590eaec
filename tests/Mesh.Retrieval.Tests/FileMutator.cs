using System.Buffers.Binary;
using System.IO.Hashing;

namespace Mesh.Retrieval.Tests;

/// <summary>
/// Seeded mutations of framed record files (<c>magic, then [u32 length][u32 CRC-32][body]</c>) for the fuzz
/// tests: bit flips, truncations, changed length fields, inserted and repeated bytes, and mutated bodies
/// re-framed with a matching CRC so that the protobuf parser and the record checks see garbage too.
/// </summary>
internal static class FileMutator
{
    public const int MagicBytes = 8;

    public static byte[] Mutate(byte[] original, Random random) => Mutate(original, random, out _);

    /// <summary>A mutated copy; <paramref name="reframed"/> tells whether a body was given a matching checksum.</summary>
    public static byte[] Mutate(byte[] original, Random random, out bool reframed)
    {
        var bytes = original;
        reframed = false;
        var mutations = random.Next(1, 4);
        for (var m = 0; m < mutations; m++)
        {
            var kind = random.Next(7);
            reframed |= kind >= 5;
            bytes = kind switch
            {
                0 => FlipBits(bytes, random),
                1 => bytes[..random.Next(bytes.Length + 1)],
                2 => ChangeLength(bytes, random),
                3 => Insert(bytes, random),
                4 => Repeat(bytes, random),
                _ => Reframe(bytes, random),
            };
        }
        return bytes;
    }

    private static byte[] FlipBits(byte[] bytes, Random random)
    {
        var copy = (byte[])bytes.Clone();
        if (copy.Length > 0)
        {
            for (var i = random.Next(1, 4); i > 0; i--)
            {
                copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
            }
        }
        return copy;
    }

    private static byte[] ChangeLength(byte[] bytes, Random random)
    {
        var frames = Frames(bytes);
        if (frames.Count == 0)
        {
            return bytes;
        }
        var copy = (byte[])bytes.Clone();
        var (offset, _) = frames[random.Next(frames.Count)];
        uint value = random.Next(4) switch
        {
            0 => uint.MaxValue,
            1 => 0x7fff_ffff,
            2 => 0,
            _ => (uint)random.Next(1, 1 << 20),
        };
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(offset), value);
        return copy;
    }

    private static byte[] Insert(byte[] bytes, Random random)
    {
        var at = random.Next(bytes.Length + 1);
        var extra = new byte[random.Next(1, 64)];
        random.NextBytes(extra);
        return [.. bytes[..at], .. extra, .. bytes[at..]];
    }

    private static byte[] Repeat(byte[] bytes, Random random)
    {
        if (bytes.Length < 2)
        {
            return bytes;
        }
        var from = random.Next(bytes.Length - 1);
        var length = random.Next(1, Math.Min(256, bytes.Length - from) + 1);
        var at = random.Next(bytes.Length + 1);
        return [.. bytes[..at], .. bytes.AsSpan(from, length), .. bytes[at..]];
    }

    // Mutates one record's body and writes a matching length and CRC, so the frame looks intact.
    private static byte[] Reframe(byte[] bytes, Random random)
    {
        var frames = Frames(bytes);
        if (frames.Count == 0)
        {
            return bytes;
        }
        var (offset, length) = frames[random.Next(frames.Count)];
        var body = bytes.AsSpan(offset + 8, length).ToArray();
        body = random.Next(3) switch
        {
            0 => FlipBits(body, random),
            1 => body[..random.Next(body.Length + 1)],
            _ => Insert(body, random),
        };
        var header = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), Crc32.HashToUInt32(body));
        return [.. bytes[..offset], .. header, .. body, .. bytes[(offset + 8 + length)..]];
    }

    private static List<(int Offset, int Length)> Frames(byte[] bytes)
    {
        var frames = new List<(int, int)>();
        var offset = MagicBytes;
        while (offset + 8 <= bytes.Length)
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));
            if (length > bytes.Length - offset - 8)
            {
                break;
            }
            frames.Add((offset, (int)length));
            offset += 8 + (int)length;
        }
        return frames;
    }
}
