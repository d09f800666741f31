using SharpInfer.KvCache;

namespace SharpInfer.Models;

/// <summary>The tokens of one forward pass with the cache cells assigned to them.</summary>
public readonly ref struct ForwardBatch
{
    /// <summary>
    /// Creates the description; spans have one entry per token except <paramref name="outputs"/>. The tokens' cells are
    /// <paramref name="placement"/>'s entries from <paramref name="placementOffset"/> on.
    /// </summary>
    public ForwardBatch(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> sequences,
        KvPlacement placement, int placementOffset, ReadOnlySpan<int> outputs)
    {
        Tokens = tokens;
        Positions = positions;
        Sequences = sequences;
        Placement = placement;
        PlacementOffset = placementOffset;
        Outputs = outputs;
    }

    /// <summary>Token ids.</summary>
    public ReadOnlySpan<int> Tokens { get; }
    /// <summary>Positions.</summary>
    public ReadOnlySpan<int> Positions { get; }
    /// <summary>The sequence whose cells each token attends to.</summary>
    public ReadOnlySpan<int> Sequences { get; }
    /// <summary>Cells of the tokens in every cache group.</summary>
    public KvPlacement Placement { get; }
    /// <summary>Index of the first token in <see cref="Placement"/>.</summary>
    public int PlacementOffset { get; }
    /// <summary>Indices (into the batch) of the tokens whose logits are wanted, in output order.</summary>
    public ReadOnlySpan<int> Outputs { get; }
}
