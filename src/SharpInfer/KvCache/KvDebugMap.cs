using System.Text;

namespace SharpInfer.KvCache;

/// <summary>
/// A text map of cell occupancy, one character per cell, 64 per line: '.' free, the sequence id in base 36 for a
/// cell of one sequence, '*' for a cell shared by several, and '~' marking a pending key shift; the header gives each
/// group's cells in use and its K and V bytes (V 0 for a latent MLA cache, whose values are read from the K rows).
/// </summary>
public static class KvDebugMap
{
    private const string Digits = "0123456789abcdefghijklmnopqrstuvwxyz";

    /// <summary>Renders every group and pool.</summary>
    public static string Render(KvCacheSet cache, long step)
    {
        var sb = new StringBuilder();
        sb.Append("kv step ").Append(step).Append(": ");
        for (int g = 0; g < cache.Groups.Count; g++)
        {
            var group = cache.Groups[g];
            if (g > 0) sb.Append("; ");
            if (group.Options.SlidingWindow > 0) sb.Append("window ").Append(group.Options.SlidingWindow).Append(' ');
            sb.Append("used ").Append(group.Used).Append('/').Append(group.Capacity)
                .Append(" (K ").Append(group.KBytes).Append(" B, V ").Append(group.VBytes).Append(" B)");
        }
        sb.AppendLine();
        for (int g = 0; g < cache.Groups.Count; g++)
        {
            var group = cache.Groups[g];
            for (int s = 0; s < group.StreamCount; s++)
            {
                var cells = group.Stream(s).Cells;
                for (int start = 0; start < cells.Size; start += 64)
                {
                    sb.Append("  g").Append(g).Append(" p").Append(s).Append(' ').Append(start.ToString("D5")).Append(' ');
                    for (int c = start; c < Math.Min(cells.Size, start + 64); c++) sb.Append(Symbol(cells, c));
                    sb.AppendLine();
                }
            }
        }
        return sb.ToString();
    }

    private static char Symbol(KvCells cells, int c)
    {
        if (cells.IsFree(c)) return '.';
        if (cells.PendingShift(c) != 0) return '~';
        if (cells.SequenceCount(c) > 1) return '*';
        int seq = cells.SequencesOf(c).First();
        return seq < Digits.Length ? Digits[seq] : '#';
    }
}
