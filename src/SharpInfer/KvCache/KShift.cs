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
    /// <summary>Re-rotates every shifted key in every pool and layer, then clears the shifts.</summary>
    public static void Apply(KvCacheGroup cache, RopeParameters rope, int headDimK, ComputePool pool)
    {
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
            var angles = new float[rope.Dims];
            fixed (float* r = row)
            fixed (float* a = angles)
            {
                foreach (int c in shifted)
                {
                    Rope.BuildCache(rope, cells.PendingShift(c), a, withMagnitude: false);
                    for (int l = 0; l < cache.Layers.Count; l++)
                    {
                        int width = cache.Layers[l].KWidth;
                        byte* k = stream.KRow(l, c);
                        Dequantize.Row(stream.TypeK, k, r, width);
                        Rope.Apply(r, width / headDimK, headDimK, a, rope.Dims, rope.NeoX);
                        Quantize.Row(stream.TypeK, r, k, width);
                    }
                }
            }
            cells.ClearShifts();
        }
    }
}
