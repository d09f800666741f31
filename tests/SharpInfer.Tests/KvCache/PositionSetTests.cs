using SharpInfer.KvCache;

namespace SharpInfer.Tests.KvCache;

/// <summary><see cref="PositionSet"/> against a plain set of integers under random edits.</summary>
public class PositionSetTests
{
    [Fact]
    public void RandomEditsAgreeWithAPlainSet()
    {
        var r = new Random(42);
        for (int round = 0; round < 300; round++)
        {
            var set = new PositionSet();
            var model = new HashSet<int>();
            for (int step = 0; step < 40; step++)
            {
                int a = r.Next(60), b = a + r.Next(12);
                switch (r.Next(5))
                {
                    case 0:
                    case 1:
                        set.Add(a, b);
                        for (int p = a; p < b; p++) model.Add(p);
                        break;
                    case 2:
                        set.Remove(a, b);
                        model.RemoveWhere(p => p >= a && p < b);
                        break;
                    case 3:
                    {
                        int delta = r.Next(-15, 15);
                        // Shifting moves [a, ∞) as the cache does; only edits that do not collide are legal there.
                        var moved = model.Where(p => p >= a).Select(p => p + delta).Where(p => p >= 0).ToList();
                        var kept = model.Where(p => p < a).ToList();
                        if (moved.Any(p => p < a && kept.Contains(p))) break;
                        set.Map(a, int.MaxValue, p => p + delta);
                        model = kept.Concat(moved).ToHashSet();
                        break;
                    }
                    default:
                    {
                        int d = 1 + r.Next(3);
                        var moved = model.Where(p => p >= a).Select(p => p / d).ToList();
                        var kept = model.Where(p => p < a).ToList();
                        if (moved.Any(p => p < a && kept.Contains(p))) break;
                        set.Map(a, int.MaxValue, p => p / d);
                        model = kept.Concat(moved).ToHashSet();
                        break;
                    }
                }
                Assert.Equal(model.OrderBy(p => p), Expand(set));
                for (int q = 0; q < 5; q++)
                {
                    int x = r.Next(80), y = x + r.Next(20);
                    Assert.Equal(model.Any(p => p >= x && p < y), set.Intersects(x, y));
                }
                Assert.Equal(model.Count == 0 ? 0 : model.Max() + 1, set.End);
                for (int i = 1; i < set.Spans.Count; i++) Assert.True(set.Spans[i - 1].To < set.Spans[i].From, "spans must be disjoint and not touching");
            }
        }
    }

    private static IEnumerable<int> Expand(PositionSet set) => set.Spans.SelectMany(s => Enumerable.Range(s.From, s.To - s.From));
}
