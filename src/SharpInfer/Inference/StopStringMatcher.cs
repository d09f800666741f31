namespace SharpInfer.Inference;

/// <summary>
/// Watches streamed text for stop strings. Text that could still turn into a stop string is held back, so the
/// caller never prints the beginning of a stop string that then completes.
/// </summary>
public sealed class StopStringMatcher
{
    private readonly string[] _stops;
    private string _pending = string.Empty;

    /// <summary>Creates a matcher (empty strings are ignored).</summary>
    public StopStringMatcher(IEnumerable<string> stops) => _stops = stops.Where(s => s.Length > 0).ToArray();

    /// <summary>True once a stop string was seen.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds text; returns what can safely be emitted now.</summary>
    public string Push(string text)
    {
        if (Stopped) return string.Empty;
        if (_stops.Length == 0) return text;
        _pending += text;
        int first = -1;
        foreach (var s in _stops)
        {
            int at = _pending.IndexOf(s, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first)) first = at;
        }
        if (first >= 0)
        {
            Stopped = true;
            string before = _pending[..first];
            _pending = string.Empty;
            return before;
        }
        int hold = 0;
        foreach (var s in _stops)
        {
            for (int k = Math.Min(s.Length - 1, _pending.Length); k > hold; k--)
            {
                if (_pending.AsSpan(_pending.Length - k).SequenceEqual(s.AsSpan(0, k)))
                {
                    hold = k;
                    break;
                }
            }
        }
        string emit = _pending[..^hold];
        _pending = _pending[^hold..];
        return emit;
    }

    /// <summary>Releases held-back text at the end of generation.</summary>
    public string Flush()
    {
        string rest = Stopped ? string.Empty : _pending;
        _pending = string.Empty;
        return rest;
    }
}
