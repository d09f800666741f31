namespace SharpInfer.Inference;

/// <summary>
/// A forward pass produced NaN or infinite logits: the model's weights or hyper-parameters are broken (a NaN weight, a
/// negative norm epsilon), and nothing sampled from them would mean anything. The batch's cells stay reserved in the
/// cache; remove the sequence's positions from that batch on before reusing it.
/// </summary>
public sealed class NonFiniteLogitsException : Exception
{
    /// <summary>Creates the exception for the token at <paramref name="position"/> of <paramref name="sequence"/>.</summary>
    public NonFiniteLogitsException(int position, int sequence)
        : this(position, sequence, "logits")
    {
    }

    /// <summary>As above, naming what was not finite (<c>logits</c>, or <c>hidden states</c> for an embedding).</summary>
    public NonFiniteLogitsException(int position, int sequence, string what)
        : base($"the model produced non-finite {what} at position {position}")
    {
        Position = position;
        Sequence = sequence;
    }

    /// <summary>Position of the first token whose logits were not finite.</summary>
    public int Position { get; }

    /// <summary>That token's (first) sequence.</summary>
    public int Sequence { get; }
}
