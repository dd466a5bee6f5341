using System.Diagnostics;
using System.Globalization;
using Nixery.Build.LayerFormat;
using Nixery.Build.Layers;

// Usage: PackBench decompress <compression>[:managed] <file>...
// Decompresses each file as a build without Nix does (NarCompression) into a sink that only counts, and prints:
// output bytes, seconds, MB/s of output, and the xz decoder used ("liblzma 5.4.1", or "SharpCompress" where the system
// has no liblzma or with ":managed").
if (args.Length > 0 && args[0] == "decompress")
{
    var narCompression = args[1].Split(':')[0];
    var nativeXz = !args[1].EndsWith(":managed", StringComparison.Ordinal);
    var clock = Stopwatch.StartNew();
    long bytes = 0;
    var buffer = new byte[1 << 16];
    foreach (var file in args.Skip(2))
    {
        using var nar = Nixery.Build.BinaryCache.NarCompression.Decompress(File.OpenRead(file), narCompression, nativeXz);
        for (int read; (read = nar.Read(buffer)) > 0;)
        {
            bytes += read;
        }
    }

    var elapsed = clock.Elapsed.TotalSeconds;
    var decoder = Nixery.Build.BinaryCache.NarCompression.XzDecoder(nativeXz).Replace(' ', '-');
    Console.WriteLine(FormattableString.Invariant($"{bytes} {elapsed:0.000} {bytes / 1e6 / elapsed:0.0} {decoder}"));
    return;
}

// Usage: PackBench popularity <file|none> <name-version>...
// Reads a popularity file as the image step does (PopularityFile.Load, then the grouping of a closure of the given
// names, all top level) and prints: seconds, the names' summed counts, and the number of layers. With "none", no file
// (the baseline for peak RSS).
if (args.Length > 0 && args[0] == "popularity")
{
    var clock = Stopwatch.StartNew();
    var data = args[1] == "none" ? Popularity.None : PopularityFile.Load(args[1]);
    var storePaths = args.Skip(2).Select(n => "/nix/store/" + new string('a', 32) + "-" + n).ToList();
    var grouped = LayerGrouping.Group(storePaths.Select(p => new ClosureNode(p, 1, [])).ToList(), storePaths, data, 94);
    var ratings = grouped.Aggregate(0UL, (sum, g) => sum + g.Rating);
    Console.WriteLine(FormattableString.Invariant($"{clock.Elapsed.TotalSeconds:0.000} {ratings} {grouped.Count}"));
    return;
}

// Usage: PackBench [gzip:|zstd:]<level> <store path>...
// Groups the closure of the given store paths (they must form a closed set; pass `nix-store -qR` output) as the
// product does, writes every layer with the product's LayerWriter (layers and chunks in parallel) with the codec
// named (gzip when none is) into a sink that only counts, and prints: input bytes, output bytes, seconds, MB/s,
// and the process's CPU seconds (startup included).
// Nothing touches the disk but reads.
var codec = args[0].Contains(':', StringComparison.Ordinal) ? args[0][..args[0].IndexOf(':', StringComparison.Ordinal)] : "gzip";
var level = int.Parse(args[0][(args[0].IndexOf(':', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);
var compression = codec == "zstd" ? Nixery.Build.Oci.LayerCompression.Zstd : Nixery.Build.Oci.LayerCompression.Gzip;
var paths = args.Skip(1).ToList();
var closure = paths.ToDictionary(p => p, p => new Nixery.Build.Nix.StorePathInfo(p, 0, []), StringComparer.Ordinal);
var nodes = closure.Values.Select(p => new ClosureNode(p.Path, 1, [])).ToList();
var groups = LayerGrouping.Group(nodes, paths, Popularity.None, 94);

var stopwatch = Stopwatch.StartNew();
using var workers = new CompressionWorkers(Environment.ProcessorCount);
var writer = new LayerWriter(new LayerWriterSettings(DateTimeOffset.FromUnixTimeSeconds(1), level, compression), workers);
long input = 0, output = 0;
Parallel.ForEach(groups, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, group =>
{
    var written = writer.Write(StoreLayer.Entries(group.StorePaths, DiskStore.Instance), Stream.Null, CancellationToken.None);
    Interlocked.Add(ref input, written.UncompressedSize);
    Interlocked.Add(ref output, written.Size);
});
var seconds = stopwatch.Elapsed.TotalSeconds;
// The process's CPU time too: on a machine shared with other work, it tells the codecs' cost apart when the wall time cannot.
var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
Console.WriteLine(FormattableString.Invariant($"{input} {output} {seconds:0.000} {input / 1e6 / seconds:0.0} {cpu:0.000}"));
