namespace SharpInfer.Models;

/// <summary>What a tensor is for: decides how it is checked at load, how <c>synth</c> fills it and whether <c>quantize</c> may touch it.</summary>
public enum TensorRole
{
    /// <summary>A weight matrix (2-D, or 3-D for stacked experts): quantizable, random in synthetic models.</summary>
    Matrix,
    /// <summary>A normalization weight (1-D): always kept in F32, ones in synthetic models.</summary>
    Norm,
    /// <summary>A bias (1-D): always kept in F32, small random values in synthetic models.</summary>
    Bias,
    /// <summary>Per-frequency RoPE factors (1-D): always kept in F32, ones in synthetic models.</summary>
    RopeFactors,
    /// <summary>
    /// A mixture-of-experts router (<c>ffn_gate_inp</c>, 2-D): kept in F32 as llama.cpp keeps it, since a rounded
    /// score can change which experts a token runs through; random in synthetic models.
    /// </summary>
    Router,
}

/// <summary>
/// One tensor an architecture reads: its GGUF name, its shape in ggml order (innermost first) and its role.
/// Loading checks every required tensor against these shapes, and <c>synth</c> writes exactly this list.
/// </summary>
/// <param name="Name">GGUF tensor name, e.g. <c>blk.3.attn_q.weight</c>.</param>
/// <param name="Shape">Dimensions, innermost (row length) first.</param>
/// <param name="Role">What the tensor is.</param>
/// <param name="Optional">True when the model runs without it (biases some files have, tied output, …).</param>
public sealed record TensorSpec(string Name, long[] Shape, TensorRole Role, bool Optional = false)
{
    /// <summary>The shape as ggml prints it, e.g. <c>[256, 512]</c>.</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";

    /// <summary>Elements in the tensor.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => checked(a * b));
}
