namespace SharpInfer.Models;

/// <summary>
/// Which routed experts the forward passes of one context chose: per layer and expert the tokens routed to it, the
/// bytes of expert weights read (each chosen expert's matrices once per pass), and for the last pass how close each
/// token's routing came to choosing differently. This is what an expert cache or offload would be sized by; it is
/// counted as the passes run and allocates nothing.
/// </summary>
public sealed class ExpertUsage
{
    private readonly long[][] _tokens;
    private readonly float[] _margins;

    /// <summary>Counters for the mixture-of-experts layers of <paramref name="spec"/>, for passes of up to <paramref name="maxTokens"/> tokens.</summary>
    public ExpertUsage(ModelSpec spec, int maxTokens)
    {
        _tokens = spec.Layers.Select(l => l.FeedForward is MixtureOfExpertsSpec m ? new long[m.Experts] : []).ToArray();
        FirstLayer = Enumerable.Range(0, spec.LayerCount).FirstOrDefault(l => _tokens[l].Length > 0, -1);
        _margins = new float[maxTokens];
        Array.Fill(_margins, float.PositiveInfinity);
    }

    /// <summary>Layers of the model (dense ones have no experts).</summary>
    public int LayerCount => _tokens.Length;

    /// <summary>The first layer with experts, or −1.</summary>
    public int FirstLayer { get; }

    /// <summary>Routed experts of <paramref name="layer"/> (0 for a dense layer).</summary>
    public int ExpertCount(int layer) => _tokens[layer].Length;

    /// <summary>Tokens routed to <paramref name="expert"/> of <paramref name="layer"/> so far.</summary>
    public long Tokens(int layer, int expert) => _tokens[layer][expert];

    /// <summary>Experts of <paramref name="layer"/> that received at least one token.</summary>
    public int DistinctExperts(int layer) => _tokens[layer].Count(c => c > 0);

    /// <summary>Bytes of routed expert weights read so far (every pass reads each expert it chose once).</summary>
    public long RoutedBytesRead { get; private set; }

    /// <summary>Tokens of the last pass whose routing margins <see cref="LastMargins"/> holds.</summary>
    public int LastTokens { get; private set; }

    /// <summary>
    /// For each token of the last forward pass (micro-batch), the smallest gap over its layers between the score of
    /// the last expert (or group) chosen and the best one passed over: near zero, the choice nearly went the other way
    /// (a reference computed with slightly different rounding may legitimately choose differently there).
    /// </summary>
    public ReadOnlySpan<float> LastMargins => _margins.AsSpan(0, LastTokens);

    /// <summary>Zeroes every counter.</summary>
    public void Reset()
    {
        foreach (var layer in _tokens) Array.Clear(layer);
        RoutedBytesRead = 0;
        LastTokens = 0;
    }

    /// <summary>Starts a pass of <paramref name="tokens"/> tokens (called by the first expert layer).</summary>
    internal void BeginPass(int tokens)
    {
        LastTokens = tokens;
        _margins.AsSpan(0, tokens).Fill(float.PositiveInfinity);
    }

    /// <summary>Records one token's routing margin in a layer (tokens are recorded by different threads, each its own).</summary>
    internal void RecordMargin(int token, float margin)
    {
        if (margin < _margins[token]) _margins[token] = margin;
    }

    /// <summary>Records that <paramref name="tokens"/> tokens ran through an expert whose weights are <paramref name="bytes"/> long.</summary>
    internal void RecordExpert(int layer, int expert, int tokens, long bytes)
    {
        _tokens[layer][expert] += tokens;
        RoutedBytesRead += bytes;
    }
}
