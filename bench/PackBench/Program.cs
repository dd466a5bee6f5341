using System.Diagnostics;
using System.Globalization;
using Nixery.Build.Archive;
using Nixery.Build.Layers;

// Usage: PackBench <level> <store path>...
// Groups the closure of the given store paths (they must form a closed set; pass `nix-store -qR` output) as the
// product does, writes every layer with the product's LayerWriter (layers and chunks in parallel) into a sink
// that only counts, and prints: input bytes, output bytes, seconds, MB/s. Nothing touches the disk but reads.
var level = int.Parse(args[0], CultureInfo.InvariantCulture);
var paths = args.Skip(1).ToList();
var closure = paths.ToDictionary(p => p, p => new Nixery.Build.Nix.StorePathInfo(p, 0, []), StringComparer.Ordinal);
var nodes = closure.Values.Select(p => new ClosureNode(p.Path, 1, [])).ToList();
var groups = LayerGrouping.Group(nodes, paths, Popularity.None, 94);

var stopwatch = Stopwatch.StartNew();
using var workers = new CompressionWorkers(Environment.ProcessorCount);
var writer = new LayerWriter(new LayerWriterSettings(DateTimeOffset.FromUnixTimeSeconds(1), level), workers);
long input = 0, output = 0;
Parallel.ForEach(groups, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, group =>
{
    var written = writer.Write(StoreLayer.Entries(group.StorePaths, DiskStore.Instance), Stream.Null, CancellationToken.None);
    Interlocked.Add(ref input, written.UncompressedSize);
    Interlocked.Add(ref output, written.Size);
});
var seconds = stopwatch.Elapsed.TotalSeconds;
Console.WriteLine(FormattableString.Invariant($"{input} {output} {seconds:0.000} {input / 1e6 / seconds:0.0}"));
