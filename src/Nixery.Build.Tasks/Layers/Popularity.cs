using Nixery.Build.Nix;

namespace Nixery.Build.Layers;

/// <summary>
/// How often a package appears across images (Nixery's popularity data): <c>name-version → count</c>,
/// matched exactly against a store path's name without <c>/nix/store/&lt;hash&gt;-</c>.
/// Either counts in memory, or a popularity file (already checked whole by <see cref="PopularityFile.Load"/>) that is
/// read again, as a stream, by <see cref="For"/>, keeping the counts of a closure's names only: a file of millions of
/// entries never sits in memory.
/// </summary>
public sealed class Popularity
{
    /// <summary>What nss-cacert and iana-etc rate: Nixery adds them to every image.</summary>
    public const ulong Universal = 500_000;

    /// <summary>What a path without an entry rates.</summary>
    public const ulong Default = 1;

    private readonly string? _file;
    private IReadOnlyDictionary<string, ulong>? _counts;

    public Popularity(IReadOnlyDictionary<string, ulong> counts) => _counts = counts;

    private Popularity(string file) => _file = file;

    /// <summary>No data: every path rates 1 (except the universal ones).</summary>
    public static Popularity None { get; } = new(new Dictionary<string, ulong>());

    /// <summary>A popularity file's counts, read when asked for (<see cref="For"/>); the file was checked whole by the caller.</summary>
    internal static Popularity OfFile(string path) => new(path);

    /// <summary>
    /// The counts of these store paths' names only: for a file, one streamed pass that keeps nothing else (the file's
    /// errors are coded as at <see cref="PopularityFile.Load"/>, should it have changed since); counts in memory are
    /// returned as they are.
    /// </summary>
    public Popularity For(IEnumerable<string> storePaths)
    {
        if (_file is null)
        {
            return this;
        }

        var names = storePaths.Select(RuntimeClosure.NameOf).ToHashSet(StringComparer.Ordinal);
        return new Popularity(PopularityFile.Read(_file, names));
    }

    public ulong Of(string storePath)
    {
        var name = RuntimeClosure.NameOf(storePath);
        if (name.StartsWith("nss-cacert", StringComparison.Ordinal) || name.StartsWith("iana-etc", StringComparison.Ordinal))
        {
            return Universal;
        }

        // A file asked directly, without For: every count of it (correct, but as large as the file's names).
        var counts = _counts ?? (_counts = PopularityFile.Read(_file!, wanted: null));
        return counts.TryGetValue(name, out var count) ? count : Default;
    }
}
