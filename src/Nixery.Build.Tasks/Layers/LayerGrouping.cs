using Nixery.Build.Nix;

namespace Nixery.Build.Layers;

/// <summary>A store path as the grouping sees it: its closure size and its references.</summary>
/// <param name="ClosureSize">Sum of the NAR sizes of its whole closure, itself included.</param>
public sealed record ClosureNode(string Path, ulong ClosureSize, IReadOnlyList<string> References);

/// <summary>A group of store paths that becomes one image layer, with Nixery's merge rating.</summary>
/// <param name="StorePaths">Sorted ordinally within each merged part, parts in merge order.</param>
public sealed record LayerGroup(IReadOnlyList<string> StorePaths, ulong Rating);

/// <summary>
/// Nixery's layer grouping (layers/layers.go), deterministic where the original leaves ties to map order:
/// <list type="number">
/// <item>Graph: a synthetic root with an edge to every top-level path and to every path that is big
/// (closure size &gt; 100 MB) or popular (popularity ≥ 100); an edge from each path to each reference, self-references skipped.</item>
/// <item>Dominator tree from the root; each child of the root becomes a layer with everything it dominates.</item>
/// <item>Rating: popularity of the layer's root × the sum of the closure sizes of its paths (uint64, wrapping as in Go).</item>
/// <item>Sorted by rating ascending (ties: the smaller first store path first); while over budget, the two
/// lowest merge and the result stays in front without re-sorting.</item>
/// </list>
/// The returned order is the manifest order: rating descending (same tie rule), popular shared layers first.
/// See docs/layers.md for the worked example.
/// </summary>
public static class LayerGrouping
{
    public const ulong BigThreshold = 100_000_000;
    public const ulong PopularThreshold = 100;

    public static IReadOnlyList<LayerGroup> Group(
        IReadOnlyCollection<ClosureNode> closure,
        IReadOnlyCollection<string> topLevel,
        Popularity popularity,
        int budget)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(budget, 1);
        var ideal = IdealLayers(closure, topLevel, popularity);
        var layers = ideal.OrderBy(l => l.Rating).ThenBy(l => l.StorePaths[0], StringComparer.Ordinal).ToList();

        // Merge the two lowest, keep the merged one in front: the n - budget + 1 lowest end up together.
        while (layers.Count > budget)
        {
            var merged = new LayerGroup([.. layers[0].StorePaths, .. layers[1].StorePaths], unchecked(layers[0].Rating + layers[1].Rating));
            layers.RemoveAt(0);
            layers[0] = merged;
        }

        return layers
            .Select((layer, index) => (layer, index))
            .OrderByDescending(x => x.layer.Rating)
            .ThenBy(x => MinPath(x.layer), StringComparer.Ordinal)
            .ThenBy(x => x.index)
            .Select(x => x.layer)
            .ToList();
    }

    /// <summary>One layer per child of the root of the dominator tree, before any merging.</summary>
    public static IReadOnlyList<LayerGroup> IdealLayers(
        IReadOnlyCollection<ClosureNode> closure,
        IReadOnlyCollection<string> topLevel,
        Popularity popularity)
    {
        // Node 0 is the synthetic root; store paths follow in ordinal order so numbering never depends on input order.
        var nodes = closure.OrderBy(n => n.Path, StringComparer.Ordinal).ToList();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < nodes.Count; i++)
        {
            index.Add(nodes[i].Path, i + 1);
        }

        var count = nodes.Count + 1;
        // A popularity file is read here, keeping the counts of this closure's names only.
        popularity = popularity.For(nodes.Select(n => n.Path));
        var popularityOf = new ulong[count];
        var successors = new List<int>[count];
        successors[0] = [];
        for (var i = 1; i < count; i++)
        {
            successors[i] = [];
            popularityOf[i] = popularity.Of(nodes[i - 1].Path);
        }

        void AddEdge(int from, int to)
        {
            if (!successors[from].Contains(to))
            {
                successors[from].Add(to);
            }
        }

        foreach (var path in topLevel)
        {
            AddEdge(0, NodeOf(path));
        }

        for (var i = 1; i < count; i++)
        {
            var node = nodes[i - 1];
            if (node.ClosureSize > BigThreshold || popularityOf[i] >= PopularThreshold)
            {
                AddEdge(0, i);
            }

            foreach (var reference in node.References)
            {
                if (reference != node.Path)
                {
                    AddEdge(i, NodeOf(reference));
                }
            }
        }

        // Every path must land in a layer: one that nothing reaches (not expected from a real closure) hangs off the root.
        var reachable = Dominators.Reachable(successors);
        for (var i = 1; i < count; i++)
        {
            if (!reachable[i])
            {
                AddEdge(0, i);
                reachable = Dominators.Reachable(successors);
            }
        }

        var idom = Dominators.Compute(successors);
        var children = new List<int>[count];
        for (var i = 0; i < count; i++)
        {
            children[i] = [];
        }

        for (var i = 1; i < count; i++)
        {
            children[idom[i]].Add(i);
        }

        var layers = new List<LayerGroup>();
        foreach (var layerRoot in children[0])
        {
            var members = new List<int>();
            var pending = new Stack<int>();
            pending.Push(layerRoot);
            while (pending.Count > 0)
            {
                var member = pending.Pop();
                members.Add(member);
                foreach (var child in children[member])
                {
                    pending.Push(child);
                }
            }

            ulong sizes = 0;
            foreach (var member in members)
            {
                sizes = unchecked(sizes + nodes[member - 1].ClosureSize);
            }

            var paths = members.Select(m => nodes[m - 1].Path).Order(StringComparer.Ordinal).ToList();
            layers.Add(new LayerGroup(paths, unchecked(popularityOf[layerRoot] * sizes)));
        }

        return layers;

        int NodeOf(string path) => index.TryGetValue(path, out var i)
            ? i
            : throw new ArgumentException($"'{path}' is referenced but not part of the closure.", nameof(closure));
    }

    /// <summary>Closure sizes for every path: the sum of NAR sizes over everything it reaches, itself included.</summary>
    public static IReadOnlyList<ClosureNode> WithClosureSizes(IReadOnlyDictionary<string, StorePathInfo> paths)
    {
        var result = new List<ClosureNode>(paths.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>();
        foreach (var info in paths.Values)
        {
            seen.Clear();
            pending.Push(info.Path);
            ulong size = 0;
            while (pending.Count > 0)
            {
                var path = pending.Pop();
                if (!seen.Add(path) || !paths.TryGetValue(path, out var current))
                {
                    continue;
                }

                size += (ulong)current.NarSize;
                foreach (var reference in current.References)
                {
                    pending.Push(reference);
                }
            }

            result.Add(new ClosureNode(info.Path, size, info.References));
        }

        return result;
    }

    private static string MinPath(LayerGroup layer) => layer.StorePaths.Min(StringComparer.Ordinal)!;
}
