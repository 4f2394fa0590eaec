using System.Numerics;
using System.Security.Cryptography;

namespace Mesh.Guard.Detectors.Pii;

/// <summary>
/// Bitcoin address checks, as Presidio's crypto recognizer: Base58Check for legacy (1…) and
/// script (3…) addresses — 25 bytes whose last four are the first four of SHA-256(SHA-256(the
/// first 21)) — and BIP 173/350 for segwit (bc1…): the bech32 or bech32m checksum over the
/// human-readable part and the data.
/// </summary>
public static class CryptoChecksums
{
    private const string Base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    private const string Bech32Alphabet = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

    /// <summary>True for a Base58Check string that decodes to 25 bytes with a valid double-SHA-256 checksum.</summary>
    public static bool Base58Check(string s)
    {
        if (s.Length is < 25 or > 35)
        {
            return false;
        }
        var n = BigInteger.Zero;
        foreach (var c in s)
        {
            var v = Base58Alphabet.IndexOf(c, StringComparison.Ordinal);
            if (v < 0)
            {
                return false;
            }
            n = n * 58 + v;
        }
        var body = n.ToByteArray(isUnsigned: true, isBigEndian: true);
        var leadingZeros = s.TakeWhile(c => c == '1').Count();
        var bytes = new byte[leadingZeros + body.Length];
        body.CopyTo(bytes, leadingZeros);
        if (bytes.Length != 25)
        {
            return false;
        }
        var hash = SHA256.HashData(SHA256.HashData(bytes.AsSpan(0, 21)));
        return hash.AsSpan(0, 4).SequenceEqual(bytes.AsSpan(21, 4));
    }

    /// <summary>True for a segwit address (lower or upper case, not mixed) whose bech32 (witness v0) or bech32m (v1+) checksum holds.</summary>
    public static bool Bech32(string address)
    {
        if (address.Length is < 14 or > 90 || address.Any(char.IsUpper) && address.Any(char.IsLower))
        {
            return false;
        }
        var s = address.ToLowerInvariant();
        var sep = s.LastIndexOf('1');
        if (sep < 1 || sep + 7 > s.Length)
        {
            return false;
        }
        var hrp = s[..sep];
        var data = new List<int>();
        foreach (var c in s[(sep + 1)..])
        {
            var v = Bech32Alphabet.IndexOf(c, StringComparison.Ordinal);
            if (v < 0)
            {
                return false;
            }
            data.Add(v);
        }
        var values = hrp.Select(c => c >> 5).Append(0).Concat(hrp.Select(c => c & 31)).Concat(data);
        var polymod = Polymod(values);
        // Witness version 0 uses bech32 (constant 1), later versions bech32m (BIP 350).
        return data[0] == 0 ? polymod == 1 : polymod == 0x2bc830a3;
    }

    private static uint Polymod(IEnumerable<int> values)
    {
        ReadOnlySpan<uint> generator = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
        uint chk = 1;
        foreach (var v in values)
        {
            var top = chk >> 25;
            chk = ((chk & 0x1ffffff) << 5) ^ (uint)v;
            for (var i = 0; i < 5; i++)
            {
                if (((top >> i) & 1) != 0)
                {
                    chk ^= generator[i];
                }
            }
        }
        return chk;
    }
}
