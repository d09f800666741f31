using SharpInfer.Kernels;
using SharpInfer.Tensors;
using SharpInfer.Threading;

namespace SharpInfer.KvCache;

/// <summary>
/// Applies pending position shifts to cached keys. RoPE angles add, so rotating a key by the shift is exactly the
/// key it would have had at its new position; quantized keys are widened, rotated and re-quantized.
/// </summary>
public static unsafe class KShift
{
    /// <summary>
    /// Re-rotates every shifted key in every pool and layer, each layer by its own <paramref name="rotations"/> entry
    /// (RoPE layout, base, head size, offset in the row), then clears the shifts.
    /// </summary>
    public static void Apply(KvCacheGroup cache, IReadOnlyList<KvRotation> rotations, ComputePool pool)
    {
        if (rotations.Count != cache.Layers.Count) throw new ArgumentException($"{rotations.Count} rotations for {cache.Layers.Count} layers");
        for (int s = 0; s < cache.StreamCount; s++)
        {
            var stream = cache.Stream(s);
            var cells = stream.Cells;
            if (!cells.HasPendingShift) continue;
            var shifted = new List<int>();
            for (int c = 0; c < cells.Size; c++)
            {
                if (!cells.IsFree(c) && cells.PendingShift(c) != 0) shifted.Add(c);
            }
            var row = new float[cache.Layers.Max(l => l.KWidth)];
            var angles = new float[rotations.Max(r => r.Rope.Dims)];
            fixed (float* r = row)
            fixed (float* a = angles)
            {
                foreach (int c in shifted)
                {
                    for (int l = 0; l < cache.Layers.Count; l++)
                    {
                        var rotation = rotations[l];
                        // Angles are rebuilt per layer: layers may differ in base (Gemma 3) or rotated width.
                        Rope.BuildCache(rotation.Rope, cells.PendingShift(c), a, withMagnitude: false);
                        int width = cache.Layers[l].KWidth;
                        byte* k = stream.KRow(l, c);
                        Dequantize.Row(stream.TypeK, k, r, width);
                        Rope.Apply(r + rotation.Offset, rotation.Heads, rotation.HeadDim, a, rotation.Rope.Dims, rotation.Rope.NeoX);
                        Quantize.Row(stream.TypeK, r, k, width);
                    }
                }
            }
            cells.ClearShifts();
        }
    }
}
