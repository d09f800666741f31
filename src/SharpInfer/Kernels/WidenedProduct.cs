using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

/// <summary>
/// Matrix products in f32 against weight rows widened one at a time: for the small per-head products of Multi-head
/// Latent Attention whose weights are stored the other way round than a product needs them (MLA's per-head
/// <c>attn_k_b</c> when latents are decompressed, the combined <c>attn_kv_b</c> when queries are absorbed), and for
/// their partners, which then round nothing either: the activations stay f32, unlike <see cref="MatMul"/>'s 8-bit
/// ones. Each weight row is widened once for all tokens; the widening and the dots and scaled adds are the SIMD kernels
/// of <see cref="Dequantize"/>, <see cref="Dot"/> and <see cref="Elementwise"/>, each checked against its scalar twin there.
/// </summary>
public static unsafe class WidenedProduct
{
    /// <summary>
    /// y[t][r] = Σ_c W[r][c]·x[t][c]: rows are outputs. x rows of <see cref="MatrixView.Columns"/> every
    /// <paramref name="xStride"/> floats, y rows of <see cref="MatrixView.Rows"/> every <paramref name="yStride"/>;
    /// <paramref name="rowScratch"/> holds one widened row (unused for f32 weights).
    /// </summary>
    public static void Multiply(in MatrixView w, float* x, long xStride, int tokens, float* y, long yStride, float* rowScratch)
    {
        for (int r = 0; r < w.Rows; r++)
        {
            float* row = Widen(w, r, rowScratch);
            for (int t = 0; t < tokens; t++) y[t * yStride + r] = Dot.F32(row, x + t * xStride, w.Columns);
        }
    }

    /// <summary>
    /// y[t][c] = Σ_r x[t][r]·W[r][c]: rows are inputs. x rows of <see cref="MatrixView.Rows"/> elements every
    /// <paramref name="xStride"/> floats, y rows of <see cref="MatrixView.Columns"/> every <paramref name="yStride"/>.
    /// </summary>
    public static void MultiplyTransposed(in MatrixView w, float* x, long xStride, int tokens, float* y, long yStride, float* rowScratch)
    {
        int columns = w.Columns;
        for (int t = 0; t < tokens; t++) new Span<float>(y + t * yStride, columns).Clear();
        for (int r = 0; r < w.Rows; r++)
        {
            float* row = Widen(w, r, rowScratch);
            for (int t = 0; t < tokens; t++) Elementwise.MultiplyAdd(y + t * yStride, row, x[t * xStride + r], columns);
        }
    }

    private static float* Widen(in MatrixView w, int r, float* scratch)
    {
        if (w.Type == GgmlType.F32) return (float*)w.Row(r);
        Dequantize.Row(w.Type, w.Row(r), scratch, w.Columns);
        return scratch;
    }
}
