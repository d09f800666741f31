using System.Runtime.CompilerServices;

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

/// <summary>
/// A 16×8 tile kernel as a type parameter (as <see cref="IRowDot"/> is for the row kernels): one pass of sixteen rows
/// against a batch in one form of <see cref="ITileBatch"/>, with the arguments of
/// <see cref="QuantizedDot.Kernels.Tile16x8"/>.
/// </summary>
internal unsafe interface ITilePass
{
    static abstract void Run<TBatch>(byte* w, long rowBytes, Q8Row first, void* quadMeta, int n, int count, float* output, long outputStride)
        where TBatch : struct, ITileBatch;
}

/// <summary>What every 16×8 tile shares: choosing the form for a batch, and the batch's activation rows.</summary>
internal static unsafe class TileForms<TTile> where TTile : struct, ITilePass
{
    /// <summary>
    /// <see cref="QuantizedDot.Kernels.Tile16x8"/> for <typeparamref name="TTile"/>: the batch of
    /// <paramref name="count"/> (1–8) tokens runs the smallest form that holds it.
    /// </summary>
    public static void Multiply(byte* w, long rowBytes, Q8Row first, void* quadMeta, int n, int count, float* output, long outputStride)
    {
        if (count <= 2) TTile.Run<TwoTokens>(w, rowBytes, first, quadMeta, n, count, output, outputStride);
        else if (count <= 4) TTile.Run<FourTokens>(w, rowBytes, first, quadMeta, n, count, output, outputStride);
        else TTile.Run<EightTokens>(w, rowBytes, first, quadMeta, n, count, output, outputStride);
    }
}

/// <summary>The activation rows of a tile's batch.</summary>
internal static unsafe class TileTokens
{
    /// <summary>
    /// Token t's quantized activations (rows of <paramref name="n"/> from <paramref name="first"/>) in a0 … a7; tokens
    /// past a batch of <paramref name="count"/> repeat its last, as the metadata of a short quad does, and their
    /// results are not stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Rows(sbyte* first, int n, int count, out sbyte* a0, out sbyte* a1, out sbyte* a2, out sbyte* a3,
        out sbyte* a4, out sbyte* a5, out sbyte* a6, out sbyte* a7)
    {
        int last = count - 1;
        a0 = first;
        a1 = first + Math.Min(1, last) * n;
        a2 = first + Math.Min(2, last) * n;
        a3 = first + Math.Min(3, last) * n;
        a4 = first + Math.Min(4, last) * n;
        a5 = first + Math.Min(5, last) * n;
        a6 = first + Math.Min(6, last) * n;
        a7 = first + Math.Min(7, last) * n;
    }
}
