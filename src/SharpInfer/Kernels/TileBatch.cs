namespace SharpInfer.Kernels;

/// <summary>
/// How many tokens a 16×8 tile's pass multiplies (2, 4 or 8), as a type parameter so that each form is compiled on
/// its own: the products are most of a tile's work, so a batch runs the smallest form that holds it instead of
/// repeating its last token up to eight.
/// </summary>
internal interface ITileBatch
{
    /// <summary>Tokens per pass.</summary>
    static abstract int Tokens { get; }

    /// <summary>The form for a batch of <paramref name="count"/> (1–8) tokens: 2, 4 or 8.</summary>
    static int FormFor(int count) => count <= 2 ? 2 : count <= 4 ? 4 : 8;
}

/// <summary>A pass over tokens 0–1.</summary>
internal struct TwoTokens : ITileBatch
{
    public static int Tokens => 2;
}

/// <summary>A pass over tokens 0–3.</summary>
internal struct FourTokens : ITileBatch
{
    public static int Tokens => 4;
}

/// <summary>A pass over tokens 0–7.</summary>
internal struct EightTokens : ITileBatch
{
    public static int Tokens => 8;
}
