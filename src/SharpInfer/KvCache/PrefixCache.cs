namespace SharpInfer.KvCache;

/// <summary>
/// Keeps the cells of evaluated token prefixes after the sequences that computed them end, so a later sequence that
/// starts with the same tokens takes them instead of evaluating them again (SGLang's RadixAttention on top of the
/// cache's cell sharing). A radix tree over token ids: each node owns the cells of its edge's tokens, one cell per
/// token, at positions equal to the tokens' depth.
/// <para>
/// Ownership: every cell the tree holds carries one reserved <see cref="HolderSequence"/> id, so it stays allocated
/// when no running sequence uses it; a sequence that takes a cached prefix adds its own id to those cells (no rows
/// are copied). A cell is therefore free exactly when neither the tree nor any sequence holds it, and evicting a
/// node is removing the holder id from its cells. A sequence that uses a path holds a <see cref="PrefixLease"/>:
/// every node on the path counts its leases, and only leaves without leases are evicted, least recently used first.
/// </para>
/// <para>
/// Positions: a node's cells sit at the positions of their tokens in the full prefix, so a prefix is shared only
/// by sequences that hold it from position 0 (no shifting). Only a cache of one group (no sliding-window layers)
/// and one pool can be indexed: a window group recycles cells out of the window, which a cached prefix must keep.
/// Not thread-safe: the owner of the cache calls it between evaluations.
/// </para>
/// </summary>
public sealed partial class PrefixCache
{
    private readonly KvCells _cells;
    private readonly Node _root = new([], [], null);
    private long _clock;

    /// <summary>Indexes prefixes in <paramref name="cells"/>, holding them with the reserved id <paramref name="holderSequence"/>.</summary>
    public PrefixCache(KvCells cells, int holderSequence)
    {
        ArgumentNullException.ThrowIfNull(cells);
        if ((uint)holderSequence >= KvCells.MaxSequences) throw new ArgumentOutOfRangeException(nameof(holderSequence));
        if (cells.CountOf(holderSequence) != 0) throw new ArgumentException($"the holder sequence {holderSequence} already holds cells", nameof(holderSequence));
        _cells = cells;
        HolderSequence = holderSequence;
    }

    /// <summary>The sequence id that holds the tree's cells (never decoded).</summary>
    public int HolderSequence { get; }

    /// <summary>Cells the tree owns (some may also be used by running sequences).</summary>
    public int CellCount { get; private set; }

    /// <summary>Cells of nodes no lease uses: what eviction could free.</summary>
    public int EvictableCells { get; private set; }

    /// <summary>Nodes in the tree (the root not counted).</summary>
    public int NodeCount { get; private set; }

    /// <summary>Leases not yet released.</summary>
    public int ActiveLeases { get; private set; }

    /// <summary>Length of the longest cached prefix of <paramref name="tokens"/>; changes nothing.</summary>
    public int MatchLength(ReadOnlySpan<int> tokens)
    {
        var node = _root;
        int depth = 0;
        while (depth < tokens.Length && node.Children.TryGetValue(tokens[depth], out var child))
        {
            int k = child.CommonPrefix(tokens[depth..]);
            depth += k;
            if (k < child.Length) break;
            node = child;
        }
        return depth;
    }

    /// <summary>
    /// Gives the empty sequence <paramref name="seq"/> the longest cached prefix of <paramref name="tokens"/> (at most
    /// <paramref name="maxLength"/> tokens) by adding its id to those cells, and leases the path so it is not evicted.
    /// <see cref="PrefixLease.Length"/> is the number of tokens taken; the sequence continues at that position.
    /// </summary>
    public PrefixLease Acquire(ReadOnlySpan<int> tokens, int maxLength, int seq)
    {
        CheckSequence(seq);
        if (_cells.CountOf(seq) != 0) throw new InvalidOperationException($"sequence {seq} already holds cells; a prefix is taken into an empty sequence");
        maxLength = Math.Clamp(maxLength, 0, tokens.Length);
        var node = _root;
        int depth = 0;
        while (depth < maxLength && node.Children.TryGetValue(tokens[depth], out var child))
        {
            int k = child.CommonPrefix(tokens[depth..maxLength]);
            if (k < child.Length) child = Split(child, k);
            node = child;
            depth += k;
        }
        var path = PathTo(node);
        long now = ++_clock;
        foreach (var n in path)
        {
            foreach (int cell in n.Cells) _cells.AddSequence(cell, seq);
            AddLease(n, now);
        }
        ActiveLeases++;
        return new PrefixLease(node, seq, depth);
    }

    /// <summary>
    /// A second lease on the path of <paramref name="lease"/> for <paramref name="seq"/>, which already holds the
    /// same cells (it was forked from the lease's sequence with <see cref="KvCacheSet.SeqCopy"/>).
    /// </summary>
    public PrefixLease Share(PrefixLease lease, int seq)
    {
        CheckLive(lease);
        CheckSequence(seq);
        long now = ++_clock;
        foreach (var n in PathTo(lease.Node)) AddLease(n, now);
        ActiveLeases++;
        return new PrefixLease(lease.Node, seq, lease.Length);
    }

    /// <summary>
    /// Indexes what the lease's sequence holds: <paramref name="tokens"/> are the tokens at its positions
    /// 0..tokens.Length − 1 (the first <see cref="PrefixLease.Length"/> of them the lease's path). New tokens become
    /// tree nodes owning the sequence's cells; tokens the tree already holds with other cells (another sequence
    /// evaluated them at the same time) are deduplicated: the sequence switches to the tree's cells and its own copies
    /// are released. The lease then covers the whole path.
    /// </summary>
    public void Extend(PrefixLease lease, ReadOnlySpan<int> tokens)
    {
        CheckLive(lease);
        int seq = lease.Sequence;
        CheckHolds(seq, tokens.Length);
        var node = lease.Node;
        int depth = lease.Length;
        long now = ++_clock;
        while (depth < tokens.Length)
        {
            if (!node.Children.TryGetValue(tokens[depth], out var child))
            {
                child = Adopt(node, tokens[depth..], seq, depth);
                AddLease(child, now);
                node = child;
                break;
            }
            int k = child.CommonPrefix(tokens[depth..]);
            if (k < child.Length) child = Split(child, k);
            SwitchToTreeCells(child, seq, depth);
            AddLease(child, now);
            node = child;
            depth += k;
        }
        lease.Node = node;
        lease.Length = tokens.Length;
    }

    /// <summary>Ends a lease: its path may be evicted once no other lease uses it. The sequence's own ids stay on its cells.</summary>
    public void Release(PrefixLease lease)
    {
        CheckLive(lease);
        for (var n = lease.Node; n != _root; n = n.Parent!)
        {
            n.Leases--;
            if (n.Leases == 0) EvictableCells += n.Length;
        }
        lease.Released = true;
        ActiveLeases--;
    }

    /// <summary>
    /// Frees at least <paramref name="cells"/> cells if it can, evicting leaves no lease uses, least recently used
    /// first (a parent whose last child went becomes a leaf itself). Returns the cells freed.
    /// </summary>
    public int Evict(int cells)
    {
        if (cells <= 0) return 0;
        var leaves = new PriorityQueue<Node, long>();
        foreach (var n in Nodes()) if (n.Children.Count == 0 && n.Leases == 0) leaves.Enqueue(n, n.LastUsed);
        int freed = 0;
        while (freed < cells && leaves.TryDequeue(out var leaf, out _))
        {
            var parent = leaf.Parent!;
            freed += Remove(leaf);
            if (parent != _root && parent.Children.Count == 0 && parent.Leases == 0) leaves.Enqueue(parent, parent.LastUsed);
        }
        return freed;
    }

    /// <summary>Evicts every node no lease uses; returns the cells freed.</summary>
    public int EvictAll() => Evict(int.MaxValue);

    /// <summary>
    /// Evicts the cached path of <paramref name="tokens"/> from its end upward, as far as its nodes are unleased leaves
    /// (a part another cached prefix continues from stays). Returns the cells freed.
    /// </summary>
    public int Erase(ReadOnlySpan<int> tokens)
    {
        var node = _root;
        int depth = 0;
        while (depth < tokens.Length && node.Children.TryGetValue(tokens[depth], out var child))
        {
            int k = child.CommonPrefix(tokens[depth..]);
            if (k < child.Length) break;
            node = child;
            depth += k;
        }
        int freed = 0;
        while (node != _root && node.Children.Count == 0 && node.Leases == 0)
        {
            var parent = node.Parent!;
            freed += Remove(node);
            node = parent;
        }
        return freed;
    }

    /// <summary>
    /// Indexes what <paramref name="seq"/> holds without keeping a lease (a restored state, for instance): like
    /// <see cref="Acquire"/> with nothing taken, <see cref="Extend"/> and <see cref="Release"/>.
    /// </summary>
    public void Insert(int seq, ReadOnlySpan<int> tokens)
    {
        CheckSequence(seq);
        var lease = new PrefixLease(_root, seq, 0);
        ActiveLeases++;
        Extend(lease, tokens);
        Release(lease);
    }

    /// <summary>Forgets every node without touching the cells (after the whole cache was cleared).</summary>
    internal void Reset()
    {
        _root.Children.Clear();
        NodeCount = 0;
        CellCount = 0;
        EvictableCells = 0;
        ActiveLeases = 0;
    }

    private Node Adopt(Node parent, ReadOnlySpan<int> tokens, int seq, int depth)
    {
        var own = _cells.CellsOf(seq);
        var cells = own.Slice(depth, tokens.Length).ToArray();
        foreach (int cell in cells) _cells.AddSequence(cell, HolderSequence);
        var node = new Node(tokens.ToArray(), cells, parent);
        parent.Children.Add(node.Tokens[0], node);
        NodeCount++;
        CellCount += node.Length;
        EvictableCells += node.Length;
        return node;
    }

    /// <summary>Makes <paramref name="seq"/> use the node's cells for the positions the node covers, releasing its own duplicates.</summary>
    private void SwitchToTreeCells(Node node, int seq, int depth)
    {
        for (int i = 0; i < node.Length; i++)
        {
            int own = _cells.CellsOf(seq)[depth + i];
            int shared = node.Cells[i];
            if (own == shared) continue;
            _cells.RemoveSequence(own, seq);
            if (_cells.IsFree(own) && own < _cells.Head) _cells.Head = own;
            _cells.AddSequence(shared, seq);
        }
    }

    /// <summary>Cuts <paramref name="node"/> after <paramref name="at"/> tokens; returns the new upper part, which has the same leases.</summary>
    private Node Split(Node node, int at)
    {
        var parent = node.Parent!;
        var upper = new Node(node.Tokens[..at], node.Cells[..at], parent) { Leases = node.Leases, LastUsed = node.LastUsed };
        parent.Children[upper.Tokens[0]] = upper;
        node.Tokens = node.Tokens[at..];
        node.Cells = node.Cells[at..];
        node.Parent = upper;
        upper.Children.Add(node.Tokens[0], node);
        NodeCount++;
        return upper;
    }

    private int Remove(Node node)
    {
        int freed = 0;
        foreach (int cell in node.Cells)
        {
            _cells.RemoveSequence(cell, HolderSequence);
            if (!_cells.IsFree(cell)) continue;
            freed++;
            if (cell < _cells.Head) _cells.Head = cell;
        }
        node.Parent!.Children.Remove(node.Tokens[0]);
        NodeCount--;
        CellCount -= node.Length;
        EvictableCells -= node.Length;
        return freed;
    }

    private void AddLease(Node node, long now)
    {
        if (node.Leases == 0) EvictableCells -= node.Length;
        node.Leases++;
        node.LastUsed = now;
    }

    private List<Node> PathTo(Node node)
    {
        var path = new List<Node>();
        for (var n = node; n != _root; n = n.Parent!) path.Add(n);
        path.Reverse();
        return path;
    }

    private IEnumerable<Node> Nodes()
    {
        var stack = new Stack<Node>(_root.Children.Values);
        while (stack.Count > 0)
        {
            var n = stack.Pop();
            yield return n;
            foreach (var c in n.Children.Values) stack.Push(c);
        }
    }

    private void CheckSequence(int seq)
    {
        if ((uint)seq >= KvCells.MaxSequences) throw new ArgumentOutOfRangeException(nameof(seq), $"sequence id {seq} is outside 0..{KvCells.MaxSequences - 1}");
        if (seq == HolderSequence) throw new ArgumentException($"sequence {seq} is the prefix cache's holder", nameof(seq));
    }

    private static void CheckLive(PrefixLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (lease.Released) throw new InvalidOperationException("the prefix lease was already released");
    }

    /// <summary>The sequence must hold exactly positions 0..length − 1, one cell each.</summary>
    private void CheckHolds(int seq, int length)
    {
        var positions = _cells.PositionsOf(seq);
        if (positions.Length != length || (length > 0 && (positions[0] != 0 || positions[^1] != length - 1)))
        {
            throw new InvalidOperationException($"sequence {seq} holds {positions.Length} cells, not positions 0..{length - 1}");
        }
    }
}

/// <summary>A sequence's claim on a cached path: the nodes on it are not evicted until it is released.</summary>
public sealed class PrefixLease
{
    internal PrefixLease(PrefixCache.Node node, int sequence, int length)
    {
        Node = node;
        Sequence = sequence;
        Length = length;
    }

    internal PrefixCache.Node Node { get; set; }

    /// <summary>The sequence the lease is for.</summary>
    public int Sequence { get; }

    /// <summary>Tokens of the leased path (the sequence holds them at positions 0..Length − 1).</summary>
    public int Length { get; internal set; }

    /// <summary>True once <see cref="PrefixCache.Release"/> was called.</summary>
    public bool Released { get; internal set; }
}
