using Nixery.Build.Layers;
using Nixery.Build.Nix;

namespace Nixery.Build.Tests.Layers;

/// <summary>
/// A random runtime closure shaped like a real one: node <c>i</c> refers only to higher-numbered nodes
/// (so the graph is a DAG) and often to itself; every node nothing refers to is top-level, plus a few more;
/// some NAR sizes alone exceed 100 MB and many are equal (so equal ratings occur); about a third of the
/// names have a popularity entry, a third of those 100 or more; one node may be <c>nss-cacert</c>. Store hashes are random, so path order is unrelated to node numbers.
/// </summary>
public sealed record RandomClosure(
    IReadOnlyList<ClosureNode> Nodes,
    IReadOnlyList<string> TopLevel,
    IReadOnlyDictionary<string, ulong> PopularityCounts)
{
    private const string Nix32 = "0123456789abcdfghijklmnpqrsvwxyz";

    public Popularity Popularity { get; } = new(PopularityCounts);

    public static RandomClosure Generate(int seed)
    {
        var random = new Random(seed);
        var count = random.Next(50, 301);
        var paths = new string[count];
        var hashes = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            string hash;
            do
            {
                hash = new string(Enumerable.Range(0, 32).Select(_ => Nix32[random.Next(Nix32.Length)]).ToArray());
            }
            while (!hashes.Add(hash));

            var name = i == 3 && seed % 2 == 0 ? "nss-cacert" : $"pkg{i}";
            paths[i] = $"/nix/store/{hash}-{name}-{random.Next(1, 10)}.{random.Next(0, 20)}";
        }

        var infos = new Dictionary<string, StorePathInfo>(StringComparer.Ordinal);
        var referred = new bool[count];
        for (var i = 0; i < count; i++)
        {
            var references = new List<string>();
            if (random.Next(2) == 0)
            {
                references.Add(paths[i]);
            }

            var later = count - i - 1;
            var wanted = Math.Min(later, random.Next(0, 4));
            foreach (var j in Enumerable.Range(i + 1, later).OrderBy(_ => random.Next()).Take(wanted))
            {
                references.Add(paths[j]);
                referred[j] = true;
            }

            var narSize = random.Next(20) switch
            {
                0 => 100_000_001L + random.Next(50_000_000),
                < 6 => 1_000L * random.Next(1, 4), // few distinct sizes: equal ratings happen
                _ => random.Next(1_000, 3_000_000),
            };
            infos.Add(paths[i], new StorePathInfo(paths[i], narSize, references));
        }

        var topLevel = Enumerable.Range(0, count)
            .Where(i => !referred[i] || random.Next(10) == 0)
            .Select(i => paths[i])
            .ToList();

        var counts = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            if (random.Next(3) == 0)
            {
                counts[RuntimeClosure.NameOf(path)] = (ulong)random.Next(0, 150);
            }
        }

        return new RandomClosure(LayerGrouping.WithClosureSizes(infos), topLevel, counts);
    }
}
