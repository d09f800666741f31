namespace SharpInfer.Kernels;

/// <summary>
/// How many tokens a 16×8 tile's pass multiplies, as a type parameter so that each form is compiled on its own: the
/// products are most of a tile's work, so batches of up to four tokens run a four-token form instead of repeating
/// their last token up to eight.
/// </summary>
internal interface ITileBatch
{
    /// <summary>Whether the pass covers eight tokens (else four).</summary>
    static abstract bool Eight { get; }
}

/// <summary>A pass over tokens 0–3.</summary>
internal struct FourTokens : ITileBatch
{
    public static bool Eight => false;
}

/// <summary>A pass over tokens 0–7.</summary>
internal struct EightTokens : ITileBatch
{
    public static bool Eight => true;
}
