using Nixery.Build.Layers;
using Nixery.Build.Nix;
using static Nixery.Build.Tests.Layers.TestClosure;

namespace Nixery.Build.Tests.Layers;

/// <summary>
/// Nixery's grouping on small hand-drawn closures. Sizes in the drawings are closure sizes
/// (the sum of the NAR sizes of everything a path reaches, itself included); a layer is written
/// as its labels followed by its rating.
/// </summary>
public class LayerGroupingTests
{
    private const int NoLimit = 1000;

    [Fact]
    public void TopLevelBigAndPopularPathsEachRootTheirOwnLayer()
    {
        // root ──> A (top-level, 307 MB) ──> B (200 MB: big)
        //                                ├─> C (3 MB, popularity 100: popular)
        //                                ├─> D (1 MB)
        //                                ├─> E (exactly 100 MB: not big, the threshold is "more than")
        //                                └─> F (2 MB, popularity 99: not popular)
        var closure = new TestClosure()
            .Add("A", 307 * MB, "B", "C", "D", "E", "F")
            .Add("B", 200 * MB)
            .Add("C", 3 * MB)
            .Add("D", 1 * MB)
            .Add("E", 100 * MB)
            .Add("F", 2 * MB)
            .Top("A");
        var popularity = PopularityOf(("C", 100), ("F", 99));

        var layers = closure.Group(popularity, NoLimit);

        Assert.Equal(["A D E F 410e6", "C 300e6", "B 200e6"], Describe(closure, layers));
    }

    [Fact]
    public void DominatedPathsJoinTheirDominatorsLayer()
    {
        // root ──> A ──> B ──> C        every path from root to B, C, D or E passes A,
        //          │           ▲        so they all sit in A's layer, even C that two
        //          └──> D ─────┘        paths reach
        //               └──> E
        // root ──> F
        var closure = new TestClosure()
            .Add("A", 5 * MB, "B", "D")
            .Add("B", 2 * MB, "C")
            .Add("C", 1 * MB)
            .Add("D", 3 * MB, "C", "E")
            .Add("E", 1 * MB)
            .Add("F", 1 * MB)
            .Top("A", "F");

        var layers = closure.Group(NoLimit);

        Assert.Equal(["A B C D E 12e6", "F 1e6"], Describe(closure, layers));
    }

    [Fact]
    public void PathSharedByTwoTopLevelPackagesBecomesItsOwnLayer()
    {
        // root ──> A ──┐
        //              ├──> C ──> D      neither A nor B dominates C: C (with D, which
        // root ──> B ──┘                 only C reaches) becomes a layer of its own
        var closure = new TestClosure()
            .Add("A", 7 * MB, "C")
            .Add("B", 8 * MB, "C")
            .Add("C", 3 * MB, "D")
            .Add("D", 1 * MB)
            .Top("A", "B");

        var layers = closure.Group(NoLimit);

        Assert.Equal(["B 8e6", "A 7e6", "C D 4e6"], Describe(closure, layers));
    }

    [Fact]
    public void SelfReferencesAreIgnored()
    {
        // root ──> A⟲ ──> B⟲             Nix records a reference from each path to itself.
        //          │                     The graph leaves them out, as Nixery does, and the
        //          └────> C⟲ <── D⟲ <── root     grouping is the same as without them.
        var withSelfReferences = new TestClosure()
            .Add("A", 6 * MB, "A", "B", "C")
            .Add("B", 2 * MB, "B")
            .Add("C", 3 * MB, "C")
            .Add("D", 4 * MB, "D", "C")
            .Top("A", "D");
        var without = new TestClosure()
            .Add("A", 6 * MB, "B", "C")
            .Add("B", 2 * MB)
            .Add("C", 3 * MB)
            .Add("D", 4 * MB, "C")
            .Top("A", "D");

        var layers = withSelfReferences.Group(NoLimit);

        Assert.Equal(["A B 8e6", "D 4e6", "C 3e6"], Describe(withSelfReferences, layers));
        Assert.Equal(Describe(without, without.Group(NoLimit)), Describe(withSelfReferences, layers));
    }

    [Fact]
    public void NssCacertAndIanaEtcRateHalfAMillionAndMapEntriesRateTheirCount()
    {
        // root ──> app ──> nss-cacert  1 MB   forced 500000 (no map entry)
        //  (63 MB)     ├─> iana-etc    2 MB   forced 500000 (the map's 3 is ignored)
        //              ├─> libpop      4 MB   map 250: popular, its own layer
        //              ├─> libfew      8 MB   map 99: not popular, stays with app
        //              └─> libnone    16 MB   no entry: 1, stays with app
        // app's layer rates app's popularity (map 7), not that of its members.
        var closure = new TestClosure()
            .Add("app", 63 * MB, "nss-cacert", "iana-etc", "libpop", "libfew", "libnone")
            .Add("nss-cacert", 1 * MB)
            .Add("iana-etc", 2 * MB)
            .Add("libpop", 4 * MB)
            .Add("libfew", 8 * MB)
            .Add("libnone", 16 * MB)
            .Top("app");
        var popularity = PopularityOf(("app", 7), ("iana-etc", 3), ("libpop", 250), ("libfew", 99));

        var layers = closure.Group(popularity, NoLimit);

        Assert.Equal(
            ["iana-etc 1000000e6", "nss-cacert 500000e6", "libpop 1000e6", "app libfew libnone 609e6"],
            Describe(closure, layers));
    }

    /// <summary>
    /// The worked example of docs/layers.md (sizes are closure sizes in MB, E has popularity 150):
    /// <code>
    /// root ──> A (6) ───────┐
    ///  │                    v
    ///  ├─────> B (7) ─────> E (5, popular)
    ///  │                    ^
    ///  ├─────> C (168) ─────┘
    ///  │       │
    ///  │       v
    ///  └─────> D (160) ───> F (6)
    ///          │
    ///          └──────────> G (150, big)
    /// </code>
    /// </summary>
    private static TestClosure WorkedExample() => new TestClosure()
        .Add("A", 6 * MB, "E")
        .Add("B", 7 * MB, "E")
        .Add("C", 168 * MB, "E", "D")
        .Add("D", 160 * MB, "F", "G")
        .Add("E", 5 * MB)
        .Add("F", 6 * MB)
        .Add("G", 150 * MB)
        .Top("A", "B", "C", "D");

    private static Popularity WorkedExamplePopularity => PopularityOf(("E", 150));

    [Fact]
    public void WorkedExampleIdealLayersAreTheChildrenOfTheDominatorTreeRoot()
    {
        // See WorkedExample: A, B, C, D are top-level, G is big, E is popular, F only D reaches.
        var closure = WorkedExample();

        var ideal = closure.IdealLayers(WorkedExamplePopularity);

        Assert.Equal(
            ["A 6e6", "B 7e6", "C 168e6", "D F 166e6", "E 750e6", "G 150e6"],
            Describe(closure, ideal).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData(6, "E 750e6 | C 168e6 | D F 166e6 | G 150e6 | B 7e6 | A 6e6")]
    [InlineData(5, "E 750e6 | C 168e6 | D F 166e6 | G 150e6 | A B 13e6")]
    [InlineData(4, "E 750e6 | C 168e6 | D F 166e6 | A B G 163e6")]
    [InlineData(3, "E 750e6 | A B G D F 329e6 | C 168e6")]
    [InlineData(2, "E 750e6 | A B G D F C 497e6")]
    [InlineData(1, "A B G D F C E 1247e6")]
    public void WorkedExampleUnderABudget(int budget, string expected)
    {
        // See WorkedExample. Sorted by rating: A 6, B 7, G 150, D F 166, C 168, E 750.
        // Over budget, the two lowest merge and the result stays in front without re-sorting:
        // at budget 3, A B G (163) absorbs D F although C (168) would then be cheaper.
        // The result is in manifest order: rating descending.
        var closure = WorkedExample();

        var layers = closure.Group(WorkedExamplePopularity, budget);

        Assert.Equal(expected, string.Join(" | ", Describe(closure, layers)));
    }

    [Fact]
    public void EqualRatingsAreOrderedBySmallestStorePath()
    {
        // root ──> Z   root ──> X   root ──> V   root ──> Y   root ──> W   (5 MB each, added in this order)
        // All rate 5 MB: the tie goes to the smallest store path, so V and W are the "lowest"
        // and merge first, and equal layers come out in path order.
        var closure = new TestClosure()
            .Add("Z", 5 * MB).Add("X", 5 * MB).Add("V", 5 * MB).Add("Y", 5 * MB).Add("W", 5 * MB)
            .Top("Z", "X", "V", "Y", "W");

        Assert.Equal(["V 5e6", "W 5e6", "X 5e6", "Y 5e6", "Z 5e6"], Describe(closure, closure.Group(NoLimit)));
        Assert.Equal(["V W 10e6", "X 5e6", "Y 5e6", "Z 5e6"], Describe(closure, closure.Group(4)));
        Assert.Equal(["V W X 15e6", "Y 5e6", "Z 5e6"], Describe(closure, closure.Group(3)));
    }

    [Fact]
    public void MergedAndUnmergedLayersOfEqualRatingAreOrderedBySmallestStorePath()
    {
        // root ──> A (5 MB)   root ──> M (2 MB)   root ──> N (3 MB)
        // Budget 2: M and N merge into "M N" rating 5, equal to A; A's path is smaller, so A comes first.
        var closure = new TestClosure()
            .Add("M", 2 * MB).Add("N", 3 * MB).Add("A", 5 * MB)
            .Top("M", "N", "A");

        Assert.Equal(["A 5e6", "M N 5e6"], Describe(closure, closure.Group(2)));
    }

    [Fact]
    public void ResultDoesNotDependOnTheOrderOfTheInputs()
    {
        // The worked example plus a tie (H and I rate like A), fed in many orders.
        var closure = WorkedExample()
            .Add("H", 6 * MB)
            .Add("I", 6 * MB, "E")
            .Top("H", "I");
        var popularity = WorkedExamplePopularity;
        var expected = Enumerable.Range(1, 9).Select(budget => Describe(closure, closure.Group(popularity, budget))).ToList();

        for (var seed = 0; seed < 20; seed++)
        {
            var random = new Random(seed);
            var nodes = Shuffle(closure.Nodes, random)
                .Select(n => n with { References = Shuffle(n.References, random) })
                .ToList();
            var topLevel = Shuffle(closure.TopLevel, random);

            for (var budget = 1; budget <= 9; budget++)
            {
                Assert.Equal(expected[budget - 1], Describe(closure, LayerGrouping.Group(nodes, topLevel, popularity, budget)));
            }
        }
    }

    [Fact]
    public void PathThatNothingReachesGetsALayerOfItsOwn()
    {
        // root ──> A       B ──> C      (B is not top-level and nothing refers to it; a real
        //                               closure never looks like this, but no path may be lost)
        var closure = new TestClosure()
            .Add("A", 1 * MB)
            .Add("B", 3 * MB, "C")
            .Add("C", 1 * MB)
            .Top("A");

        Assert.Equal(["B C 4e6", "A 1e6"], Describe(closure, closure.Group(NoLimit)));
    }

    [Fact]
    public void ReferenceOutsideTheClosureIsRejected()
    {
        // root ──> A ──> B   (B is missing from the closure)
        var closure = new TestClosure().Add("A", 1 * MB, "B").Top("A");

        var error = Assert.Throws<ArgumentException>(() => closure.Group(NoLimit));

        Assert.Contains(StorePathOf("B"), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BudgetBelowOneIsRejected()
    {
        var closure = new TestClosure().Add("A", 1 * MB).Top("A");

        Assert.Throws<ArgumentOutOfRangeException>(() => closure.Group(0));
    }

    [Fact]
    public void ClosureSizesCountASharedDependencyOnce()
    {
        // A (nar 1) ──> B (nar 10) ──> D (nar 1000)
        //  │                           ^
        //  └──────────> C (nar 100) ───┘
        var (a, b, c, d) = (StorePathOf("A"), StorePathOf("B"), StorePathOf("C"), StorePathOf("D"));
        var paths = new Dictionary<string, StorePathInfo>(StringComparer.Ordinal)
        {
            [a] = new(a, 1, [b, c]),
            [b] = new(b, 10, [d]),
            [c] = new(c, 100, [d]),
            [d] = new(d, 1000, []),
        };

        var nodes = LayerGrouping.WithClosureSizes(paths).ToDictionary(n => n.Path, StringComparer.Ordinal);

        Assert.Equal(1111UL, nodes[a].ClosureSize);
        Assert.Equal(1010UL, nodes[b].ClosureSize);
        Assert.Equal(1100UL, nodes[c].ClosureSize);
        Assert.Equal(1000UL, nodes[d].ClosureSize);
        Assert.Equal<IEnumerable<string>>([b, c], nodes[a].References);
    }

    [Fact]
    public void ClosureSizesCountAPathOnceDespiteItsSelfReference()
    {
        // A⟲ (nar 1) ──> B⟲ (nar 10)      each path refers to itself, as Nix records it
        var (a, b) = (StorePathOf("A"), StorePathOf("B"));
        var paths = new Dictionary<string, StorePathInfo>(StringComparer.Ordinal)
        {
            [a] = new(a, 1, [a, b]),
            [b] = new(b, 10, [b]),
        };

        var nodes = LayerGrouping.WithClosureSizes(paths).ToDictionary(n => n.Path, StringComparer.Ordinal);

        Assert.Equal(11UL, nodes[a].ClosureSize);
        Assert.Equal(10UL, nodes[b].ClosureSize);
        Assert.Equal<IEnumerable<string>>([a, b], nodes[a].References);
    }

    [Fact]
    public void RatingsWrapAroundLikeGoUint64()
    {
        // root ──> A (2^64 − 2) ──> B (3 bytes)    sizes add up to 2^64 + 1: rating 1
        // root ──> nss-cacert (2^62 + 1)           500000 × (2^62 + 1) = 500000 modulo 2^64
        // root ──> X (2^63 + 1)                    rating 2^63 + 1
        // root ──> Y (2^63 + 2)                    rating 2^63 + 2
        // Nixery computes ratings in Go's uint64, which wraps silently; we do the same so a
        // (theoretical) overflow groups exactly as Nixery would rather than failing the build.
        var closure = new TestClosure()
            .Add("A", ulong.MaxValue - 1, "B")
            .Add("B", 3)
            .Add("nss-cacert", (1UL << 62) + 1)
            .Add("X", (1UL << 63) + 1)
            .Add("Y", (1UL << 63) + 2)
            .Top("A", "nss-cacert", "X", "Y");

        var ideal = closure.IdealLayers(Popularity.None).ToDictionary(l => closure.Labels([l])[0], l => l.Rating, StringComparer.Ordinal);
        var merged = Assert.Single(closure.Group(1));

        Assert.Equal(1UL, ideal["A B"]);
        Assert.Equal(500_000UL, ideal["nss-cacert"]);
        Assert.Equal((1UL << 63) + 1, ideal["X"]);
        Assert.Equal((1UL << 63) + 2, ideal["Y"]);
        Assert.Equal(500_004UL, merged.Rating);
    }

    /// <summary>Each layer as <c>"labels ratingInMillions"</c>: <c>"D F 166e6"</c>.</summary>
    private static List<string> Describe(TestClosure closure, IEnumerable<LayerGroup> layers) =>
        layers.Select(layer =>
        {
            Assert.True(layer.Rating % MB == 0, $"rating {layer.Rating} is not a whole number of MB");
            return $"{closure.Labels([layer])[0]} {layer.Rating / MB}e6";
        }).ToList();

    private static List<T> Shuffle<T>(IEnumerable<T> items, Random random)
    {
        var list = items.ToList();
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list));
        return list;
    }
}
