namespace Mesh.Inference.Sampling;

/// <summary>
/// Finds stop sequences in streamed text. Text that could still turn out to be the start of a stop
/// sequence is held back until it is decided, so a stop sequence split across tokens is never
/// emitted, even in part.
/// </summary>
public sealed class StopSequenceMatcher(IReadOnlyList<string> stops)
{
    private string _pending = "";

    /// <summary>True once a stop sequence has matched.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds generated text; returns what may be emitted now.</summary>
    public string Append(string text)
    {
        if (Stopped)
        {
            return "";
        }

        if (stops.Count == 0)
        {
            return text;
        }

        _pending += text;
        var earliest = -1;
        foreach (var stop in stops)
        {
            var at = _pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (earliest < 0 || at < earliest))
            {
                earliest = at;
            }
        }

        if (earliest >= 0)
        {
            Stopped = true;
            var before = _pending[..earliest];
            _pending = "";
            return before;
        }

        var hold = 0;
        foreach (var stop in stops)
        {
            for (var k = Math.Min(stop.Length - 1, _pending.Length); k > hold; k--)
            {
                if (_pending.AsSpan(_pending.Length - k).SequenceEqual(stop.AsSpan(0, k)))
                {
                    hold = k;
                    break;
                }
            }
        }

        var ready = _pending[..^hold];
        _pending = _pending[^hold..];
        return ready;
    }

    /// <summary>Releases held-back text at the end of generation (when no stop sequence matched).</summary>
    public string Flush()
    {
        var rest = Stopped ? "" : _pending;
        _pending = "";
        return rest;
    }
}
