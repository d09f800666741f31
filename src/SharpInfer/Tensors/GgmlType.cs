namespace SharpInfer.Tensors;

/// <summary>
/// Element and block formats of tensors, numbered exactly as ggml numbers them in GGUF files.
/// Gaps in the numbering are formats ggml has retired; they are refused when read.
/// </summary>
public enum GgmlType
{
    /// <summary>32-bit IEEE float.</summary>
    F32 = 0,
    /// <summary>16-bit IEEE half.</summary>
    F16 = 1,
    /// <summary>32 weights: f16 scale, 4-bit quants centred on 8.</summary>
    Q4_0 = 2,
    /// <summary>32 weights: f16 scale and minimum, 4-bit quants.</summary>
    Q4_1 = 3,
    /// <summary>32 weights: f16 scale, 5-bit quants centred on 16.</summary>
    Q5_0 = 6,
    /// <summary>32 weights: f16 scale and minimum, 5-bit quants.</summary>
    Q5_1 = 7,
    /// <summary>32 weights: f16 scale, 8-bit quants.</summary>
    Q8_0 = 8,
    /// <summary>32 weights: f16 scale, f16 scaled sum, 8-bit quants (activation format).</summary>
    Q8_1 = 9,
    /// <summary>256-weight super-block, 2-bit quants, 4-bit scales and minimums.</summary>
    Q2_K = 10,
    /// <summary>256-weight super-block, 3-bit quants, 6-bit scales.</summary>
    Q3_K = 11,
    /// <summary>256-weight super-block, 4-bit quants, 6-bit scales and minimums.</summary>
    Q4_K = 12,
    /// <summary>256-weight super-block, 5-bit quants, 6-bit scales and minimums.</summary>
    Q5_K = 13,
    /// <summary>256-weight super-block, 6-bit quants, 8-bit scales.</summary>
    Q6_K = 14,
    /// <summary>256-weight super-block, f32 scale, 8-bit quants and per-16 sums (activation format).</summary>
    Q8_K = 15,
    /// <summary>Importance-matrix 2-bit format (read, not computed).</summary>
    IQ2_XXS = 16,
    /// <summary>Importance-matrix 2-bit format (read, not computed).</summary>
    IQ2_XS = 17,
    /// <summary>Importance-matrix 3-bit format (read, not computed).</summary>
    IQ3_XXS = 18,
    /// <summary>Importance-matrix 1-bit format (read, not computed).</summary>
    IQ1_S = 19,
    /// <summary>32 weights: f16 scale, 4-bit indices into a non-linear table.</summary>
    IQ4_NL = 20,
    /// <summary>Importance-matrix 3-bit format (read, not computed).</summary>
    IQ3_S = 21,
    /// <summary>Importance-matrix 2-bit format (read, not computed).</summary>
    IQ2_S = 22,
    /// <summary>Super-block variant of IQ4_NL (read, not computed).</summary>
    IQ4_XS = 23,
    /// <summary>8-bit signed integer.</summary>
    I8 = 24,
    /// <summary>16-bit signed integer.</summary>
    I16 = 25,
    /// <summary>32-bit signed integer.</summary>
    I32 = 26,
    /// <summary>64-bit signed integer.</summary>
    I64 = 27,
    /// <summary>64-bit IEEE float.</summary>
    F64 = 28,
    /// <summary>Importance-matrix 1-bit format (read, not computed).</summary>
    IQ1_M = 29,
    /// <summary>bfloat16: the top half of an f32.</summary>
    BF16 = 30,
    /// <summary>Ternary format (read, not computed).</summary>
    TQ1_0 = 34,
    /// <summary>Ternary format (read, not computed).</summary>
    TQ2_0 = 35,
    /// <summary>Microscaling FP4 (read, not computed).</summary>
    MXFP4 = 39,
    /// <summary>NVIDIA FP4 (read, not computed).</summary>
    NVFP4 = 40,
    /// <summary>1-bit format (read, not computed).</summary>
    Q1_0 = 41,
    /// <summary>2-bit format (read, not computed).</summary>
    Q2_0 = 42,
}
