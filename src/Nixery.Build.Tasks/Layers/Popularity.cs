using Nixery.Build.Nix;

namespace Nixery.Build.Layers;

/// <summary>
/// How often a package appears across images (Nixery's popularity data): <c>name-version → count</c>,
/// matched exactly against a store path's name without <c>/nix/store/&lt;hash&gt;-</c>.
/// </summary>
public sealed class Popularity
{
    /// <summary>What nss-cacert and iana-etc rate: Nixery adds them to every image.</summary>
    public const ulong Universal = 500_000;

    /// <summary>What a path without an entry rates.</summary>
    public const ulong Default = 1;

    private readonly IReadOnlyDictionary<string, ulong> _counts;

    public Popularity(IReadOnlyDictionary<string, ulong> counts) => _counts = counts;

    /// <summary>No data: every path rates 1 (except the universal ones).</summary>
    public static Popularity None { get; } = new(new Dictionary<string, ulong>());

    public ulong Of(string storePath)
    {
        var name = RuntimeClosure.NameOf(storePath);
        if (name.StartsWith("nss-cacert", StringComparison.Ordinal) || name.StartsWith("iana-etc", StringComparison.Ordinal))
        {
            return Universal;
        }

        return _counts.TryGetValue(name, out var count) ? count : Default;
    }
}
