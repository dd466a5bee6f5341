using Nixery.Build.Layers;

namespace Nixery.Build.Tests.Layers;

/// <summary>
/// Properties of the grouping on generated closures (see <see cref="RandomClosure"/>): 50 to 300 paths,
/// a DAG with self-references, big and popular paths, random top-level set.
/// </summary>
public class LayerGroupingPropertyTests
{
    private static readonly int[] Budgets = [1, 2, 3, 10, 94, 1000];

    public static TheoryData<int> Seeds => [1, 2, 3, 7, 42, 99, 1234, 2024];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void EveryPathLandsInExactlyOneLayer(int seed)
    {
        var closure = RandomClosure.Generate(seed);
        var expected = closure.Nodes.Select(n => n.Path).Order(StringComparer.Ordinal).ToList();

        foreach (var budget in Budgets)
        {
            var layers = LayerGrouping.Group(closure.Nodes, closure.TopLevel, closure.Popularity, budget);

            Assert.Equal(expected, layers.SelectMany(l => l.StorePaths).Order(StringComparer.Ordinal));
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void LayerCountIsTheIdealCountCappedByTheBudget(int seed)
    {
        var closure = RandomClosure.Generate(seed);
        var ideal = LayerGrouping.IdealLayers(closure.Nodes, closure.TopLevel, closure.Popularity);

        foreach (var budget in Budgets)
        {
            var layers = LayerGrouping.Group(closure.Nodes, closure.TopLevel, closure.Popularity, budget);

            Assert.Equal(Math.Min(ideal.Count, budget), layers.Count);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void IdealLayersAreTheSubtreesUnderTheRootOfANaiveDominatorComputation(int seed)
    {
        // An independent check of the graph and the dominator tree: d dominates v when v cannot be
        // reached from the root once d is taken away. The layer roots are the paths no other path
        // dominates; each path belongs to the one layer root that dominates it.
        var closure = RandomClosure.Generate(seed);
        var nodes = closure.Nodes.OrderBy(n => n.Path, StringComparer.Ordinal).ToList();
        var index = nodes.Select((n, i) => (n.Path, i)).ToDictionary(x => x.Path, x => x.i, StringComparer.Ordinal);
        var rootEdges = closure.TopLevel.Select(p => index[p])
            .Concat(nodes.Select((n, i) => (n, i))
                .Where(x => x.n.ClosureSize > LayerGrouping.BigThreshold || closure.Popularity.Of(x.n.Path) >= LayerGrouping.PopularThreshold)
                .Select(x => x.i))
            .ToHashSet();
        var edges = nodes.Select(n => n.References.Where(r => r != n.Path).Select(r => index[r]).ToList()).ToList();

        var dominates = new bool[nodes.Count, nodes.Count];
        for (var d = 0; d < nodes.Count; d++)
        {
            var reached = ReachableWithout(d, rootEdges, edges);
            for (var v = 0; v < nodes.Count; v++)
            {
                dominates[d, v] = !reached[v];
            }
        }

        var layerRoots = Enumerable.Range(0, nodes.Count)
            .Where(r => Enumerable.Range(0, nodes.Count).All(d => d == r || !dominates[d, r]))
            .ToList();
        var expected = layerRoots
            .Select(r =>
            {
                var members = Enumerable.Range(0, nodes.Count).Where(v => dominates[r, v]).ToList();
                ulong sizes = 0;
                foreach (var member in members)
                {
                    sizes += nodes[member].ClosureSize;
                }

                var paths = members.Select(m => nodes[m].Path).Order(StringComparer.Ordinal);
                return string.Join(' ', paths) + " " + (closure.Popularity.Of(nodes[r].Path) * sizes);
            })
            .Order(StringComparer.Ordinal)
            .ToList();

        var ideal = LayerGrouping.IdealLayers(closure.Nodes, closure.TopLevel, closure.Popularity);

        Assert.Equal(expected, ideal.Select(l => string.Join(' ', l.StorePaths) + " " + l.Rating).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void MergingFoldsTheLowestRatedIdealLayersIntoOneAndKeepsTheRest(int seed)
    {
        var closure = RandomClosure.Generate(seed);
        var ideal = LayerGrouping.IdealLayers(closure.Nodes, closure.TopLevel, closure.Popularity)
            .OrderBy(l => l.Rating)
            .ThenBy(l => l.StorePaths[0], StringComparer.Ordinal)
            .ToList();

        foreach (var budget in Budgets.Where(b => b < ideal.Count))
        {
            var layers = LayerGrouping.Group(closure.Nodes, closure.TopLevel, closure.Popularity, budget);

            var folded = ideal.Take(ideal.Count - budget + 1).ToList();
            ulong foldedRating = 0;
            foreach (var layer in folded)
            {
                foldedRating += layer.Rating;
            }

            var expected = ideal.Skip(folded.Count)
                .Append(new LayerGroup(folded.SelectMany(l => l.StorePaths).ToList(), foldedRating))
                .Select(Key)
                .Order(StringComparer.Ordinal);
            Assert.Equal(expected, layers.Select(Key).Order(StringComparer.Ordinal));
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void LayersComeOutByRatingDescending(int seed)
    {
        var closure = RandomClosure.Generate(seed);

        foreach (var budget in Budgets)
        {
            var layers = LayerGrouping.Group(closure.Nodes, closure.TopLevel, closure.Popularity, budget);

            for (var i = 1; i < layers.Count; i++)
            {
                var previous = layers[i - 1];
                var current = layers[i];
                Assert.True(
                    previous.Rating > current.Rating
                    || (previous.Rating == current.Rating && string.CompareOrdinal(previous.StorePaths.Min(StringComparer.Ordinal), current.StorePaths.Min(StringComparer.Ordinal)) < 0),
                    $"layer {i - 1} ({previous.Rating}) must come before layer {i} ({current.Rating})");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void ResultDoesNotDependOnTheOrderOfTheInputs(int seed)
    {
        var closure = RandomClosure.Generate(seed);
        var random = new Random(seed);
        var nodes = closure.Nodes.ToList();
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(nodes));
        var shuffledNodes = nodes
            .Select(n => n with { References = n.References.OrderBy(_ => random.Next()).ToList() })
            .ToList();
        var shuffledTopLevel = closure.TopLevel.OrderBy(_ => random.Next()).ToList();

        foreach (var budget in Budgets)
        {
            var expected = LayerGrouping.Group(closure.Nodes, closure.TopLevel, closure.Popularity, budget);
            var actual = LayerGrouping.Group(shuffledNodes, shuffledTopLevel, closure.Popularity, budget);

            Assert.Equal(expected.Select(Key), actual.Select(Key));
        }
    }

    /// <summary>A layer's paths in its own order and its rating.</summary>
    private static string Key(LayerGroup layer) => string.Join(' ', layer.StorePaths) + " " + layer.Rating;

    private static bool[] ReachableWithout(int removed, HashSet<int> rootEdges, List<List<int>> edges)
    {
        var reached = new bool[edges.Count];
        var pending = new Stack<int>(rootEdges.Where(n => n != removed));
        foreach (var node in pending)
        {
            reached[node] = true;
        }

        while (pending.Count > 0)
        {
            foreach (var next in edges[pending.Pop()])
            {
                if (next != removed && !reached[next])
                {
                    reached[next] = true;
                    pending.Push(next);
                }
            }
        }

        return reached;
    }
}
