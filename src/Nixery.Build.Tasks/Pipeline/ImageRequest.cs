using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Oci;

namespace Nixery.Build.Pipeline;

/// <summary>Everything that decides an image, as plain values. The MSBuild task fills it; tests build it directly.</summary>
public sealed record ImageRequest
{
    /// <summary>The publish output folder.</summary>
    public required string PublishDirectory { get; init; }

    /// <summary>
    /// What the publish folder held when the request was made (<see cref="PublishFolder.Fingerprint"/>): kept in the
    /// request file so that a file added to or removed from the folder, whatever its time, makes the image new.
    /// </summary>
    public string? PublishFolderFingerprint { get; init; }

    /// <summary>Every Nix package of the image (items, defaults, runtime), with where each came from.</summary>
    public required IReadOnlyList<PackageRequest> Packages { get; init; }

    public required NixPackageSource Source { get; init; }

    public required Platform Platform { get; init; }

    /// <summary>The attribute path of the .NET runtime package among <see cref="Packages"/>, or null for none.</summary>
    public string? DotnetRuntimePackage { get; init; }

    /// <summary>
    /// The packages among <see cref="Packages"/> that the app's own ELF files link to (NixAppHostPackages: glibc,
    /// libstdc++, ICU, OpenSSL): every such file's RUNPATH names their lib folders (see <see cref="Layers.NativeLinking"/>).
    /// They are not linked into the image root.
    /// </summary>
    public IReadOnlyList<string> AppHostPackages { get; init; } = [];

    public required string Repository { get; init; }

    public required IReadOnlyList<string> Tags { get; init; }

    /// <summary>Where to write the image archive (and, beside it, the build summary).</summary>
    public required string ArchivePath { get; init; }

    /// <summary>
    /// Whether to write the archive: false when the image goes to a registry instead (ContainerRegistry set and
    /// ContainerArchiveOutputPath not), as the SDK does. The summary is written either way.
    /// </summary>
    public bool WriteArchive { get; init; } = true;

    /// <summary>NixImageOciLayoutPath: an OCI image layout folder to write the image into as well; null for none.</summary>
    public string? OciLayoutPath { get; init; }

    /// <summary>Absolute path of the app in the image, canonical (<see cref="ImageSettings.WorkingDirectory"/>).</summary>
    public string WorkingDirectory { get; init; } = "/app";

    public required IReadOnlyList<string> Entrypoint { get; init; }

    public IReadOnlyList<string> Command { get; init; } = [];

    /// <summary>Extra environment variables, in order; they override the image's defaults of the same name.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];

    /// <summary>The user the entry point runs as (name or uid, optionally :group); null for the runtime's default (root).</summary>
    public string? User { get; init; } = Layers.UserDatabase.AppUid.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Exposed ports such as <c>8080/tcp</c>.</summary>
    public IReadOnlyList<string> Ports { get; init; } = [];

    /// <summary>Labels, in order (a later one of the same key wins).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; init; } = [];

    /// <summary>Whether to add the org.opencontainers.image.created label (with <see cref="Created"/>).</summary>
    public bool GenerateCreatedLabel { get; init; }

    /// <summary>An ASP.NET Core app: it listens on 8080 unless its environment says otherwise, as in the SDK's images.</summary>
    public bool IsAspNet { get; init; }

    /// <summary>The app's assembly name, which names its deps.json (to split the app into layers).</summary>
    public string? AppName { get; init; }

    public ImageFormat Format { get; init; } = ImageFormat.Oci;

    /// <summary>Most layers the Nix closure may take (Nixery's budget).</summary>
    public int LayerBudget { get; init; } = 94;

    public Popularity Popularity { get; init; } = Popularity.None;

    /// <summary>Where <see cref="Popularity"/> was read from (kept so a request file can load it again).</summary>
    public string? PopularityFile { get; init; }

    /// <summary>What pins the package set (see <see cref="NixSourceIdentity"/>); null means Nix runs on every build.</summary>
    public string? NixSourceIdentity { get; init; }

    /// <summary>The layer cache shared by the user's builds; null keeps layers in the intermediate folder only.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>The layer cache this build uses: <see cref="CacheDirectory"/>, else one in the intermediate folder.</summary>
    public string LayerCacheDirectory => CacheDirectory ?? Path.Combine(IntermediateDirectory, "cache");

    /// <summary>The build summary: beside the archive, whether or not one is written.</summary>
    public string SummaryPath => Path.ChangeExtension(ArchivePath, ".json");

    /// <summary>The most bytes of blobs the cache keeps; least recently used ones go first.</summary>
    public long CacheMaxSize { get; init; } = ImageDefaults.CacheMaxSize;

    /// <summary>The build's own scratch folder (garbage-collector roots, layer blobs).</summary>
    public required string IntermediateDirectory { get; init; }

    /// <summary>The time written into the config and every tar entry.</summary>
    public DateTimeOffset Created { get; init; } = ImageDefaults.Epoch;

    /// <summary>zlib level for layers.</summary>
    public int CompressionLevel { get; init; } = ImageDefaults.CompressionLevel;
}

public static class ImageDefaults
{
    /// <summary>1970-01-01T00:00:01Z, the time the Nix store gives every file.</summary>
    public static readonly DateTimeOffset Epoch = DateTimeOffset.FromUnixTimeSeconds(1);

    /// <summary>Docker refuses images with more layers than this (moby's maxLayerDepth); containerd and Podman take 127.</summary>
    public const int MaxLayers = 125;

    /// <summary>zlib-ng level 5: measured the fastest level within 5% of gzip -6's size (bench/README.md).</summary>
    public const int CompressionLevel = 5;

    /// <summary>10 GiB: a few dozen closures of typical .NET images.</summary>
    public const long CacheMaxSize = 10L << 30;

    public const string Path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public const string CertificateBundle = "/etc/ssl/certs/ca-bundle.crt";

    /// <summary>The layer cache folder: the one configured, else $XDG_CACHE_HOME/nixery-build, else ~/.cache/nixery-build.</summary>
    public static string CacheDirectory(string? configured, string baseDirectory)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return System.IO.Path.GetFullPath(configured.Trim(), baseDirectory);
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = !string.IsNullOrWhiteSpace(xdg) ? xdg : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return System.IO.Path.Combine(root, "nixery-build");
    }

    /// <summary>The time from SOURCE_DATE_EPOCH when it is set, else <see cref="Epoch"/>.</summary>
    public static DateTimeOffset CreatedFrom(string? sourceDateEpoch)
    {
        if (string.IsNullOrWhiteSpace(sourceDateEpoch))
        {
            return Epoch;
        }

        // Tar headers hold 32-bit seconds here, hence the upper bound (2038-01-19).
        if (!long.TryParse(sourceDateEpoch.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
            || seconds > int.MaxValue)
        {
            throw new Diagnostics.NixImageException(
                Diagnostics.ErrorCodes.InvalidImageSetting,
                $"SOURCE_DATE_EPOCH '{sourceDateEpoch}' is not a number of seconds since 1970 up to {int.MaxValue}. Set it to e.g. the last commit's time (git log -1 --format=%ct), or unset it.");
        }

        return DateTimeOffset.FromUnixTimeSeconds(seconds);
    }
}
