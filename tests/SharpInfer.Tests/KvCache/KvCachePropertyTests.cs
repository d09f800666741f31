using FsCheck;
using FsCheck.Fluent;
using SharpInfer.KvCache;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.KvCache;

/// <summary>
/// Random sequences of cache operations against a plain model: a dictionary from sequence to the multiset of
/// positions it holds. After every step every sequence holds exactly the predicted positions, the cell invariants
/// hold, and an operation that fails for lack of room leaves the cache exactly as it was.
/// </summary>
public class KvCachePropertyTests
{
    private const int Seqs = 4;

    public abstract record Op;
    public sealed record Decode(int Seq, int Count) : Op;
    public sealed record DecodeShared(int Count) : Op;
    public sealed record Remove(int Seq, int P0, int P1) : Op;
    public sealed record Copy(int Src, int Dst, int P0, int P1) : Op;
    public sealed record Keep(int Seq) : Op;
    public sealed record Add(int Seq, int P0, int P1, int Delta) : Op;
    public sealed record Divide(int Seq, int P0, int P1, int Divisor) : Op;
    public sealed record ClearAll : Op;

    private static Gen<int> Pos => Gen.Frequency((1, Gen.Constant(-1)), (6, Gen.Choose(0, 30)));

    private static Gen<Op> OpGen => Gen.Frequency(
        (6, Gen.Zip(Gen.Choose(0, Seqs - 1), Gen.Choose(1, 6)).Select(t => (Op)new Decode(t.Item1, t.Item2))),
        (1, Gen.Choose(1, 4).Select(n => (Op)new DecodeShared(n))),
        (3, Gen.Zip(Gen.Choose(-1, Seqs - 1), Gen.Zip(Pos, Pos)).Select(t => (Op)new Remove(t.Item1, t.Item2.Item1, t.Item2.Item2))),
        (2, Gen.Zip(Gen.Zip(Gen.Choose(0, Seqs - 1), Gen.Choose(0, Seqs - 1)), Gen.Zip(Pos, Pos)).Select(t => (Op)new Copy(t.Item1.Item1, t.Item1.Item2, t.Item2.Item1, t.Item2.Item2))),
        (1, Gen.Choose(0, Seqs - 1).Select(s => (Op)new Keep(s))),
        (3, Gen.Zip(Gen.Zip(Gen.Choose(0, Seqs - 1), Gen.Choose(-12, 12)), Gen.Zip(Pos, Pos)).Select(t => (Op)new Add(t.Item1.Item1, t.Item2.Item1, t.Item2.Item2, t.Item1.Item2))),
        (1, Gen.Zip(Gen.Zip(Gen.Choose(0, Seqs - 1), Gen.Choose(1, 3)), Gen.Zip(Pos, Pos)).Select(t => (Op)new Divide(t.Item1.Item1, t.Item2.Item1, t.Item2.Item2, t.Item1.Item2))),
        (1, Gen.Constant((Op)new ClearAll())));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void OperationsAgreeWithThePlainModel(bool unified)
    {
        var arb = Gen.ListOf(OpGen).Select(l => l.ToArray()).ToArbitrary();
        var property = Prop.ForAll(arb, ops => Run(ops, unified));
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(400).WithQuietOnSuccess(true), property);
    }

    private static KvCacheGroup NewCache(bool unified) => new(
        new KvCacheOptions { Cells = 24, TypeK = GgmlType.F32, TypeV = GgmlType.F32, MaxSequences = Seqs, Unified = unified },
        [new KvLayerShape(4, 4, 4, 4)]);

    private static void Run(Op[] ops, bool unified)
    {
        using var cache = NewCache(unified);
        var model = Enumerable.Range(0, Seqs).Select(_ => new List<int>()).ToArray();
        foreach (var op in ops)
        {
            var before = Snapshot(cache);
            bool failed = false;
            try
            {
                Apply(cache, op, model);
            }
            catch (KvCacheFullException)
            {
                failed = true;
            }
            if (failed) Assert.Equal(before, Snapshot(cache));
            Verify(cache, model, op);
        }
    }

    private static void Apply(KvCacheGroup cache, Op op, List<int>[] model)
    {
        static (int, int) R(int p0, int p1) => (p0 < 0 ? 0 : p0, p1 < 0 ? int.MaxValue : p1);
        switch (op)
        {
            case Decode d:
            {
                int start = model[d.Seq].Count == 0 ? 0 : model[d.Seq].Max() + 1;
                var positions = Enumerable.Range(start, d.Count).ToArray();
                Reserve(cache, positions, Enumerable.Repeat(new[] { d.Seq }, d.Count).ToArray());
                model[d.Seq].AddRange(positions);
                break;
            }
            case DecodeShared d:
            {
                // One run of tokens shared by every sequence (a common prompt); only valid when all are empty.
                if (model.Any(m => m.Count > 0)) break;
                var all = Enumerable.Range(0, Seqs).ToArray();
                if (!cache.Options.Unified) break;
                Reserve(cache, Enumerable.Range(0, d.Count).ToArray(), Enumerable.Repeat(all, d.Count).ToArray());
                foreach (var m in model) m.AddRange(Enumerable.Range(0, d.Count));
                int usedBefore = cache.Used;
                Assert.Equal(d.Count, usedBefore);
                break;
            }
            case Remove rm:
            {
                cache.SeqRemove(rm.Seq, rm.P0, rm.P1);
                var (p0, p1) = R(rm.P0, rm.P1);
                foreach (int s in rm.Seq < 0 ? Enumerable.Range(0, Seqs) : [rm.Seq]) model[s].RemoveAll(p => p >= p0 && p < p1);
                break;
            }
            case Copy cp:
            {
                // Copy into an empty sequence only: otherwise "which cell holds dst's copy of p" is ambiguous.
                if (cp.Src == cp.Dst || model[cp.Dst].Count > 0) break;
                int used = cache.Used;
                cache.SeqCopy(cp.Src, cp.Dst, cp.P0, cp.P1);
                var (p0, p1) = R(cp.P0, cp.P1);
                model[cp.Dst].AddRange(model[cp.Src].Where(p => p >= p0 && p < p1));
                if (cache.Options.Unified) Assert.Equal(used, cache.Used);
                break;
            }
            case Keep k:
            {
                cache.SeqKeep(k.Seq);
                for (int s = 0; s < Seqs; s++) if (s != k.Seq) model[s].Clear();
                var cells = cache.Stream(cache.StreamIndexOf(k.Seq)).Cells;
                for (int c = 0; c < cells.Size; c++)
                {
                    if (!cells.IsFree(c)) Assert.True(cells.HasSequence(c, k.Seq) && cells.SequenceCount(c) == 1);
                }
                break;
            }
            case Add a:
            {
                cache.SeqAdd(a.Seq, a.P0, a.P1, a.Delta);
                var (p0, p1) = R(a.P0, a.P1);
                model[a.Seq] = model[a.Seq].Select(p => p >= p0 && p < p1 ? p + a.Delta : p).Where(p => p >= 0).ToList();
                break;
            }
            case Divide dv:
            {
                cache.SeqDivide(dv.Seq, dv.P0, dv.P1, dv.Divisor);
                var (p0, p1) = R(dv.P0, dv.P1);
                model[dv.Seq] = model[dv.Seq].Select(p => p >= p0 && p < p1 ? p / dv.Divisor : p).ToList();
                break;
            }
            case ClearAll:
                cache.Clear();
                foreach (var m in model) m.Clear();
                break;
        }
    }

    private static void Reserve(KvCacheGroup cache, int[] positions, int[][] seqs)
    {
        var start = new int[positions.Length];
        var count = new int[positions.Length];
        var ids = new List<int>();
        for (int i = 0; i < positions.Length; i++)
        {
            start[i] = ids.Count;
            count[i] = seqs[i].Length;
            ids.AddRange(seqs[i]);
        }
        cache.Reserve(new UBatchView(positions, start, count, ids.ToArray()), new int[positions.Length], new int[positions.Length]);
    }

    private static string Snapshot(KvCacheGroup cache)
    {
        var sb = new System.Text.StringBuilder();
        for (int s = 0; s < cache.StreamCount; s++)
        {
            var cells = cache.Stream(s).Cells;
            for (int c = 0; c < cells.Size; c++)
            {
                sb.Append(cells.Position(c)).Append(':').Append(cells.PendingShift(c)).Append(':');
                foreach (int q in cells.SequencesOf(c)) sb.Append(q).Append(',');
                sb.Append(';');
            }
        }
        return sb.ToString();
    }

    private static void Verify(KvCacheGroup cache, List<int>[] model, Op op)
    {
        for (int s = 0; s < Seqs; s++)
        {
            var cells = cache.Stream(cache.StreamIndexOf(s)).Cells;
            var actual = cells.PositionsOf(s).ToArray();
            var expected = model[s].Order().ToArray();
            Assert.True(expected.SequenceEqual(actual), $"after {op}: seq {s} holds [{string.Join(',', actual)}], expected [{string.Join(',', expected)}]");
            Assert.Equal(expected.Length == 0 ? -1 : expected.Min(), cache.SeqPosMin(s));
            Assert.Equal(expected.Length == 0 ? -1 : expected.Max(), cache.SeqPosMax(s));
            foreach (int c in cells.CellsOf(s)) Assert.True(cells.HasSequence(c, s));
        }
        int used = 0;
        for (int st = 0; st < cache.StreamCount; st++)
        {
            var cells = cache.Stream(st).Cells;
            int inStream = 0;
            for (int c = 0; c < cells.Size; c++)
            {
                bool inUse = cells.SequenceCount(c) > 0;
                Assert.Equal(inUse, !cells.IsFree(c));
                Assert.Equal(inUse, cells.Position(c) >= 0);
                if (inUse) inStream++;
            }
            Assert.Equal(inStream, cells.Used);
            used += inStream;
        }
        Assert.Equal(used, cache.Used);
    }
}
