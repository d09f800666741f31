namespace SharpInfer.KvCache;

public sealed partial class PrefixCache
{
    /// <summary>An edge of the tree: a run of tokens and the cells that hold them.</summary>
    internal sealed class Node(int[] tokens, int[] cells, Node? parent)
    {
        public int[] Tokens = tokens;
        public int[] Cells = cells;
        public Node? Parent = parent;
        public readonly Dictionary<int, Node> Children = new();
        public int Leases;
        public long LastUsed;

        public int Length => Tokens.Length;

        /// <summary>How many of this edge's tokens start <paramref name="tokens"/>.</summary>
        public int CommonPrefix(ReadOnlySpan<int> tokens) => Tokens.AsSpan().CommonPrefixLength(tokens);
    }

    /// <summary>
    /// Checks every invariant of the tree against the cells and the given live leases, throwing
    /// <see cref="InvalidOperationException"/> at the first violation: each node's cells are distinct, held by the
    /// holder id at the node's depths and listed in no other node; lease counts equal the leases whose path passes
    /// through; a node without leases has cells no sequence but the holder uses; the counters match.
    /// </summary>
    internal void CheckInvariants(IReadOnlyCollection<PrefixLease> leases)
    {
        var seen = new HashSet<int>();
        var expectedLeases = new Dictionary<Node, int>();
        foreach (var lease in leases)
        {
            for (var n = lease.Node; n != _root; n = n.Parent!) expectedLeases[n] = expectedLeases.GetValueOrDefault(n) + 1;
        }
        int nodes = 0, cells = 0, evictable = 0;
        var stack = new Stack<(Node Node, int Depth)>();
        foreach (var c in _root.Children.Values) stack.Push((c, 0));
        while (stack.Count > 0)
        {
            var (n, depth) = stack.Pop();
            nodes++;
            cells += n.Length;
            if (n.Leases == 0) evictable += n.Length;
            if (n.Length == 0 || n.Cells.Length != n.Length) throw new InvalidOperationException("a node has no tokens or a cell count unlike its token count");
            if (n.Leases != expectedLeases.GetValueOrDefault(n)) throw new InvalidOperationException($"a node counts {n.Leases} leases, {expectedLeases.GetValueOrDefault(n)} pass through it");
            for (int i = 0; i < n.Length; i++)
            {
                int cell = n.Cells[i];
                if (!seen.Add(cell)) throw new InvalidOperationException($"cell {cell} is owned by two nodes");
                if (!_cells.HasSequence(cell, HolderSequence)) throw new InvalidOperationException($"cell {cell} of the tree lacks the holder id");
                if (_cells.Position(cell) != depth + i) throw new InvalidOperationException($"cell {cell} is at position {_cells.Position(cell)}, its token at depth {depth + i}");
                if (n.Leases == 0 && _cells.SequenceCount(cell) != 1) throw new InvalidOperationException($"cell {cell} of an unleased node is used by a sequence");
            }
            foreach (var (first, c) in n.Children)
            {
                if (c.Parent != n || c.Tokens[0] != first) throw new InvalidOperationException("a child is filed under the wrong parent or token");
                if (c.Leases > n.Leases) throw new InvalidOperationException("a child has more leases than its parent");
                stack.Push((c, depth + n.Length));
            }
        }
        if (_cells.CountOf(HolderSequence) != cells) throw new InvalidOperationException($"the holder id is on {_cells.CountOf(HolderSequence)} cells, the tree owns {cells}");
        if (nodes != NodeCount || cells != CellCount || evictable != EvictableCells || leases.Count != ActiveLeases)
        {
            throw new InvalidOperationException($"counters drifted: nodes {NodeCount}/{nodes}, cells {CellCount}/{cells}, evictable {EvictableCells}/{evictable}, leases {ActiveLeases}/{leases.Count}");
        }
    }
}
