using System.Text.Json.Serialization;
using Nixery.Build.Engines;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Oci;

namespace Nixery.Build.Settings;

/// <summary>
/// Everything that decides an image, as plain, resolved values. <see cref="ImageRequestFactory"/> makes it from the
/// project's settings (every default is there, none here); tests build it directly. <see cref="RequestFile"/> keeps it.
/// </summary>
public sealed record ImageRequest
{
    /// <summary>The publish output folder.</summary>
    public required string PublishDirectory { get; init; }

    /// <summary>Every Nix package of the image (items, defaults, runtime), with where each came from.</summary>
    public required IReadOnlyList<PackageRequest> Packages { get; init; }

    public required NixPackageSource Source { get; init; }

    /// <summary>Where the closure comes from: Nix, or the lock file and binary caches (the image step resolves Auto by whether Nix is on PATH).</summary>
    public required NixMode NixMode { get; init; }

    /// <summary>The lock file: written by a build with Nix, read by one without.</summary>
    public required string LockFile { get; init; }

    /// <summary>Binary caches (http, https or file URLs) a build from the lock file fetches NARs from, in order.</summary>
    public IReadOnlyList<string> BinaryCaches { get; init; } = [];

    /// <summary>Public keys (<c>name:base64</c>) whose signature a narinfo must carry.</summary>
    public IReadOnlyList<string> TrustedPublicKeys { get; init; } = [];

    /// <summary>ContainerBaseImage, in full (<see cref="Registry.ImageReference"/>, registry included); null for an image of Nix packages only.</summary>
    public string? BaseImage { get; init; }

    /// <summary>Whether the image gets the <c>org.opencontainers.image.base.name</c> and <c>.base.digest</c> labels (ContainerGenerateLabels).</summary>
    public bool BaseImageLabels { get; init; } = true;

    public required Platform Platform { get; init; }

    /// <summary>The attribute path of the .NET runtime package among <see cref="Packages"/>, or null for none.</summary>
    public string? DotnetRuntimePackage { get; init; }


    public required string Repository { get; init; }

    public required IReadOnlyList<string> Tags { get; init; }

    /// <summary>Where to write the image archive (and, beside it, the build summary).</summary>
    public required string ArchivePath { get; init; }

    /// <summary>NixImageOciLayoutPath as a full path: the image is also written there as an OCI image layout; null for none.</summary>
    public string? OciLayoutPath { get; init; }

    /// <summary>LocalRegistry: the local engine the image is loaded into (instead of the archive, unless ContainerArchiveOutputPath is set); null for none.</summary>
    public LocalEngineKind? LocalEngine { get; init; }

    /// <summary>
    /// Whether to write the archive: false when the image goes to a registry instead (ContainerRegistry set and
    /// ContainerArchiveOutputPath not), as the SDK does. The summary is written either way.
    /// </summary>
    public required bool WriteArchive { get; init; }

    /// <summary>Absolute path of the app in the image, canonical (<see cref="ImageSettings.WorkingDirectory"/>).</summary>
    public required string WorkingDirectory { get; init; }

    public required IReadOnlyList<string> Entrypoint { get; init; }

    public IReadOnlyList<string> Command { get; init; } = [];

    /// <summary>Extra environment variables, in order; they override the image's defaults of the same name.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Environment { get; init; } = [];

    /// <summary>The user the entry point runs as (name or uid, optionally :group); null for the base image's (an image without a base always has one).</summary>
    public required string? User { get; init; }

    /// <summary>Exposed ports such as <c>8080/tcp</c>.</summary>
    public IReadOnlyList<string> Ports { get; init; } = [];

    /// <summary>Labels, in order (a later one of the same key wins), the generated ones (created time, Nix packages) included.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; init; } = [];

    /// <summary>An ASP.NET Core app: it listens on 8080 unless its environment says otherwise, as in the SDK's images.</summary>
    public bool IsAspNet { get; init; }

    /// <summary>The app's assembly name, which names its deps.json (to split the app into layers).</summary>
    public string? AppName { get; init; }

    public required ImageFormat Format { get; init; }

    /// <summary>Most layers the Nix closure may take (Nixery's budget).</summary>
    public required int LayerBudget { get; init; }

    /// <summary>How often each package is referenced (read from <see cref="PopularityFile"/>; not kept in the request file).</summary>
    [JsonIgnore]
    public Popularity Popularity { get; init; } = Popularity.None;

    /// <summary>Where <see cref="Popularity"/> was read from (kept so a request file can load it again).</summary>
    public string? PopularityFile { get; init; }

    /// <summary>What pins the package set (see <see cref="NixSourceIdentity"/>); null means Nix runs on every build.</summary>
    public string? NixSourceIdentity { get; init; }

    /// <summary>The layer cache shared by the user's builds; null keeps layers in the intermediate folder only.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>The layer cache this build uses: <see cref="CacheDirectory"/>, else one in the intermediate folder.</summary>
    [JsonIgnore]
    public string LayerCacheDirectory => CacheDirectory ?? Path.Combine(IntermediateDirectory, "cache");

    /// <summary>The build summary: beside the archive, whether or not one is written.</summary>
    [JsonIgnore]
    public string SummaryPath => Path.ChangeExtension(ArchivePath, ".json");

    /// <summary>The most bytes of blobs the cache keeps; least recently used ones go first.</summary>
    public required long CacheMaxSize { get; init; }

    /// <summary>The build's own scratch folder (garbage-collector roots, layer blobs).</summary>
    public required string IntermediateDirectory { get; init; }

    /// <summary>The time written into the config and every tar entry.</summary>
    public required DateTimeOffset Created { get; init; }

    /// <summary>The codec's level for layers (gzip 1 to 9, zstd 1 to 19).</summary>
    public required int CompressionLevel { get; init; }

    /// <summary>How the layers this image makes are compressed (a base image's layers stay as they are).</summary>
    public required LayerCompression LayerCompression { get; init; }

    /// <summary>The SBOM documents to attach, by media type (<see cref="MediaTypes.CycloneDxJson"/>, <see cref="MediaTypes.SpdxJson"/>); none: no SBOM.</summary>
    public IReadOnlyList<string> SbomMediaTypes { get; init; } = [];

    /// <summary>The project's <c>project.assets.json</c>, where the SBOM finds the app's NuGet packages; null: none.</summary>
    public string? AssetsFile { get; init; }

    /// <summary>The target framework the app was published for (<c>net10.0</c>): the assets file's target.</summary>
    public string? TargetFramework { get; init; }

    /// <summary>The runtime identifier the app was published for, if any: the assets file's target with it.</summary>
    public string? RuntimeIdentifier { get; init; }

    /// <summary>The app's version (the project's <c>Version</c>), as the SBOM names the app.</summary>
    public string? AppVersion { get; init; }
}

/// <summary>Constants of the image format and of Nix that are not settings (the settings' defaults are in <see cref="ImageRequestFactory"/>).</summary>
/// <summary>Where an image's closure comes from.</summary>
public enum NixMode
{
    /// <summary>Nix when it is on PATH, else the lock file.</summary>
    Auto,

    /// <summary>Nix resolves and realises the packages; the lock file is written from its answer.</summary>
    Nix,

    /// <summary>The lock file's closure, its NARs from binary caches; Nix is not run.</summary>
    Lock,
}

public static class ImageDefaults
{
    /// <summary>1970-01-01T00:00:01Z, the time the Nix store gives every file.</summary>
    public static readonly DateTimeOffset Epoch = DateTimeOffset.FromUnixTimeSeconds(1);

    /// <summary>Docker refuses images with more layers than this (moby's maxLayerDepth); containerd and Podman take 127.</summary>
    public const int MaxLayers = 125;

    public const string Path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public const string CertificateBundle = "/etc/ssl/certs/ca-bundle.crt";
}
