using Nixery.Build.Layers;

namespace Nixery.Build.Tests.Layers;

/// <summary>
/// A small runtime closure for grouping tests, written with short labels: label <c>A</c> is the store path
/// <c>/nix/store/aaaa…aaaa-A-1.0</c> (the hash is the lower-cased label repeated to 32 characters), so
/// popularity keys are <c>A-1.0</c> and the ordinal order of paths follows the order of the labels.
/// </summary>
public sealed class TestClosure
{
    /// <summary>One megabyte as the worked example counts it: 10^6 bytes.</summary>
    public const ulong MB = 1_000_000;

    private const int HashLength = 32;

    private readonly List<ClosureNode> _nodes = [];
    private readonly List<string> _topLevel = [];
    private readonly Dictionary<string, string> _pathOf = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _labelOf = new(StringComparer.Ordinal);

    public IReadOnlyList<ClosureNode> Nodes => _nodes;

    public IReadOnlyList<string> TopLevel => _topLevel;

    /// <summary>The store path of a label.</summary>
    public string this[string label] => _pathOf[label];

    /// <summary><c>/nix/store/&lt;label repeated&gt;-&lt;label&gt;-1.0</c>.</summary>
    public static string StorePathOf(string label)
    {
        var letters = label.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).ToArray();
        var hash = new char[HashLength];
        for (var i = 0; i < HashLength; i++)
        {
            hash[i] = letters[i % letters.Length];
        }

        return $"/nix/store/{new string(hash)}-{label}-1.0";
    }

    /// <summary>Adds a path with its closure size (given, not computed) and the labels it references.</summary>
    public TestClosure Add(string label, ulong closureSize, params string[] references)
    {
        var path = StorePathOf(label);
        _pathOf.Add(label, path);
        _labelOf.Add(path, label);
        _nodes.Add(new ClosureNode(path, closureSize, references.Select(StorePathOf).ToList()));
        return this;
    }

    public TestClosure Top(params string[] labels)
    {
        _topLevel.AddRange(labels.Select(StorePathOf));
        return this;
    }

    public IReadOnlyList<LayerGroup> Group(Popularity popularity, int budget) =>
        LayerGrouping.Group(_nodes, _topLevel, popularity, budget);

    public IReadOnlyList<LayerGroup> Group(int budget) => Group(Popularity.None, budget);

    public IReadOnlyList<LayerGroup> IdealLayers(Popularity popularity) =>
        LayerGrouping.IdealLayers(_nodes, _topLevel, popularity);

    /// <summary>Each layer as its labels, in the layer's own order: <c>"A B G D F"</c>.</summary>
    public IReadOnlyList<string> Labels(IEnumerable<LayerGroup> layers) =>
        layers.Select(layer => string.Join(' ', layer.StorePaths.Select(path => _labelOf[path]))).ToList();

    /// <summary>The layers as sets of labels, in no particular order, for comparing groupings.</summary>
    public ISet<string> LabelSets(IEnumerable<LayerGroup> layers) =>
        layers.Select(layer => string.Join(' ', layer.StorePaths.Select(path => _labelOf[path]).Order(StringComparer.Ordinal)))
            .ToHashSet(StringComparer.Ordinal);

    public static Popularity PopularityOf(params (string Label, ulong Count)[] counts) =>
        new(counts.ToDictionary(c => c.Label + "-1.0", c => c.Count, StringComparer.Ordinal));
}
