using FsCheck;
using FsCheck.Fluent;
using SharpInfer.KvCache;

namespace SharpInfer.Tests.KvCache;

/// <summary>
/// Random interleavings of what a scheduler does with the prefix cache — sequences that take a cached prefix,
/// evaluate more tokens, index them, fork, finish, and evictions and erasures when cells run short — on real cell
/// metadata. Each evaluated cell gets a "content" that stands for its K/V rows: a hash of the token prefix up to its
/// position, which is all a real row depends on. After every step: the tree's invariants hold, every running sequence
/// holds exactly positions 0..n − 1 and each of its cells has the content its own tokens would give (so decoding
/// with a cached prefix sees what recomputing would), and the used cells are exactly the tree's and the sequences'.
/// </summary>
public class PrefixCachePropertyTests
{
    private const int Seqs = 4, Holder = 5, Size = 40;

    public abstract record Op;
    public sealed record Start(int Seq, int[] Prompt, int MaxTake) : Op;
    public sealed record Evaluate(int Seq, int[] Tokens) : Op;
    public sealed record Index(int Seq) : Op;
    public sealed record Fork(int Src, int Dst) : Op;
    public sealed record Finish(int Seq) : Op;
    public sealed record EvictSome(int Cells) : Op;
    public sealed record EraseOne(int[] Tokens) : Op;

    // Three token values make shared prefixes, partial matches and node splits frequent.
    private static Gen<int[]> TokensGen(int min, int max) => Gen.Choose(min, max).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 2), n));

    private static Gen<Op> OpGen => Gen.Frequency(
        (5, Gen.Zip(Gen.Choose(0, Seqs - 1), Gen.Zip(TokensGen(1, 12), Gen.Choose(0, 14))).Select(t => (Op)new Start(t.Item1, t.Item2.Item1, t.Item2.Item2))),
        (6, Gen.Zip(Gen.Choose(0, Seqs - 1), TokensGen(1, 6)).Select(t => (Op)new Evaluate(t.Item1, t.Item2))),
        (3, Gen.Choose(0, Seqs - 1).Select(s => (Op)new Index(s))),
        (2, Gen.Zip(Gen.Choose(0, Seqs - 1), Gen.Choose(0, Seqs - 1)).Select(t => (Op)new Fork(t.Item1, t.Item2))),
        (4, Gen.Choose(0, Seqs - 1).Select(s => (Op)new Finish(s))),
        (2, Gen.Choose(1, 12).Select(n => (Op)new EvictSome(n))),
        (1, TokensGen(1, 12).Select(t => (Op)new EraseOne(t))));

    [Fact]
    public void AccountingIsExactAndCachedPrefixesHoldWhatRecomputingWould()
    {
        var arb = Gen.ListOf(OpGen).Select(l => l.ToArray()).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500).WithQuietOnSuccess(true), Prop.ForAll(arb, Run));
    }

    /// <summary>The simulated engine: cells, the tree, and per sequence its tokens and lease.</summary>
    private sealed class World
    {
        public readonly KvCells Cells = new(Size);
        public readonly PrefixCache Cache;
        public readonly List<int>?[] Tokens = new List<int>?[Seqs];
        public readonly PrefixLease?[] Leases = new PrefixLease?[Seqs];
        public readonly long[] Content = new long[Size];

        public World() => Cache = new PrefixCache(Cells, Holder);

        public static long ContentOf(IReadOnlyList<int> tokens, int position)
        {
            long h = 17;
            for (int i = 0; i <= position; i++) h = h * 31 + tokens[i] + 1;
            return h;
        }
    }

    private static void Run(Op[] ops)
    {
        var w = new World();
        foreach (var op in ops)
        {
            Apply(w, op);
            Verify(w);
        }
        for (int s = 0; s < Seqs; s++) Apply(w, new Finish(s));
        Verify(w);
        int cached = w.Cache.CellCount;
        Assert.Equal(cached, w.Cells.Used);
        Assert.Equal(cached, w.Cache.EvictAll());
        Assert.Equal(0, w.Cells.Used);
        Assert.Equal(0, w.Cache.NodeCount);
    }

    private static void Apply(World w, Op op)
    {
        switch (op)
        {
            case Start s when w.Tokens[s.Seq] is null:
            {
                var lease = w.Cache.Acquire(s.Prompt, s.MaxTake, s.Seq);
                Assert.Equal(Math.Min(s.MaxTake, LongestCachedPrefix(w, s.Prompt)), lease.Length);
                w.Leases[s.Seq] = lease;
                w.Tokens[s.Seq] = s.Prompt.Take(lease.Length).ToList();
                break;
            }
            case Evaluate e when w.Tokens[e.Seq] is { } tokens:
            {
                int free = Size - w.Cells.Used;
                if (free < e.Tokens.Length) w.Cache.Evict(e.Tokens.Length - free);
                if (Size - w.Cells.Used < e.Tokens.Length) break;
                foreach (int t in e.Tokens)
                {
                    int cell = Enumerable.Range(0, Size).First(w.Cells.IsFree);
                    tokens.Add(t);
                    w.Cells.Occupy(cell, tokens.Count - 1);
                    w.Cells.AddSequence(cell, e.Seq);
                    w.Content[cell] = World.ContentOf(tokens, tokens.Count - 1);
                }
                break;
            }
            case Index i when w.Tokens[i.Seq] is { } tokens:
                w.Cache.Extend(w.Leases[i.Seq]!, tokens.ToArray());
                Assert.Equal(tokens.Count, w.Leases[i.Seq]!.Length);
                break;
            case Fork f when f.Src != f.Dst && w.Tokens[f.Src] is { } tokens && w.Tokens[f.Dst] is null:
                // As the scheduler forks: the source's tokens are indexed first, then the sibling shares its cells.
                w.Cache.Extend(w.Leases[f.Src]!, tokens.ToArray());
                foreach (int cell in w.Cells.CellsOf(f.Src).ToArray()) w.Cells.AddSequence(cell, f.Dst);
                w.Leases[f.Dst] = w.Cache.Share(w.Leases[f.Src]!, f.Dst);
                w.Tokens[f.Dst] = tokens.ToList();
                break;
            case Finish f when w.Tokens[f.Seq] is { } tokens:
                w.Cache.Extend(w.Leases[f.Seq]!, tokens.ToArray());
                w.Cache.Release(w.Leases[f.Seq]!);
                foreach (int cell in w.Cells.CellsOf(f.Seq).ToArray()) w.Cells.RemoveSequence(cell, f.Seq);
                w.Tokens[f.Seq] = null;
                w.Leases[f.Seq] = null;
                break;
            case EvictSome e:
            {
                int evictable = w.Cache.EvictableCells, used = w.Cells.Used;
                int freed = w.Cache.Evict(e.Cells);
                Assert.Equal(used - freed, w.Cells.Used);
                Assert.True(freed >= Math.Min(e.Cells, evictable), $"evicting {e.Cells} of {evictable} evictable cells freed only {freed}");
                break;
            }
            case EraseOne e:
            {
                int used = w.Cells.Used;
                int freed = w.Cache.Erase(e.Tokens);
                Assert.Equal(used - freed, w.Cells.Used);
                break;
            }
        }
    }

    /// <summary>
    /// The longest prefix of <paramref name="tokens"/> the cache holds, found without the tree: position p is cached
    /// when some cell the holder keeps has the content of the first p + 1 tokens.
    /// </summary>
    private static int LongestCachedPrefix(World w, int[] tokens)
    {
        var contents = w.Cells.CellsOf(Holder).ToArray().Select(c => w.Content[c]).ToHashSet();
        int length = 0;
        while (length < tokens.Length && contents.Contains(World.ContentOf(tokens, length))) length++;
        Assert.Equal(length, w.Cache.MatchLength(tokens));
        return length;
    }

    private static void Verify(World w)
    {
        var leases = w.Leases.Where(l => l is not null).Select(l => l!).ToList();
        w.Cache.CheckInvariants(leases);
        var used = new HashSet<int>(w.Cells.CellsOf(Holder).ToArray());
        for (int s = 0; s < Seqs; s++)
        {
            if (w.Tokens[s] is not { } tokens)
            {
                Assert.Equal(0, w.Cells.CountOf(s));
                continue;
            }
            var cells = w.Cells.CellsOf(s);
            var positions = w.Cells.PositionsOf(s);
            Assert.Equal(tokens.Count, cells.Length);
            for (int p = 0; p < tokens.Count; p++)
            {
                Assert.Equal(p, positions[p]);
                // Stored once: where the sequence's lease covers it, the sequence uses the tree's cell, not a copy.
                if (p < w.Leases[s]!.Length) Assert.True(w.Cells.HasSequence(cells[p], Holder), $"sequence {s} holds a private copy of cached position {p}");
                Assert.Equal(World.ContentOf(tokens, p), w.Content[cells[p]]);
                used.Add(cells[p]);
            }
        }
        Assert.Equal(used.Count, w.Cells.Used);
    }
}
