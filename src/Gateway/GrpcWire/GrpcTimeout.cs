using System.Globalization;

namespace Mesh.Gateway.GrpcWire;

/// <summary>
/// The <c>grpc-timeout</c> header (PROTOCOL-HTTP2.md): at most 8 digits and a unit
/// (H, M, S, m, u, n). The gateway reads the caller's deadline and tightens it to the route's.
/// </summary>
public static class GrpcTimeout
{
    /// <summary>The gRPC deadline header.</summary>
    public const string HeaderName = "grpc-timeout";

    /// <summary>Parses a <c>grpc-timeout</c> value (1 to 8 digits and a unit H, M, S, m, u or n); false when malformed.</summary>
    public static bool TryParse(string? value, out TimeSpan timeout)
    {
        timeout = default;
        if (string.IsNullOrEmpty(value) || value.Length < 2 || value.Length > 9
            || !long.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }

        double? ticks = value[^1] switch
        {
            'H' => amount * (double)TimeSpan.TicksPerHour,
            'M' => amount * (double)TimeSpan.TicksPerMinute,
            'S' => amount * (double)TimeSpan.TicksPerSecond,
            'm' => amount * (double)TimeSpan.TicksPerMillisecond,
            'u' => amount * (double)TimeSpan.TicksPerMicrosecond,
            'n' => amount / 100.0,
            _ => null,
        };
        if (ticks is null)
        {
            return false;
        }

        timeout = TimeSpan.FromTicks((long)Math.Min(ticks.Value, TimeSpan.MaxValue.Ticks));
        return true;
    }

    /// <summary>Formats in milliseconds (rounded up, so a deadline never grows), in seconds when that overflows 8 digits.</summary>
    public static string Format(TimeSpan timeout)
    {
        var ms = Math.Max(1, (long)Math.Ceiling(timeout.TotalMilliseconds));
        return ms < 100_000_000
            ? ms.ToString(CultureInfo.InvariantCulture) + "m"
            : Math.Min(99_999_999, (long)Math.Ceiling(timeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "S";
    }
}
