namespace Nixery.Build.Diagnostics;

/// <summary>
/// Every code the product reports. Codes are stable: never renumber, never reuse.
/// Each has a section in docs/errors.md (a test keeps the two in step).
/// </summary>
public static class ErrorCodes
{
    /// <summary>Nix's command-line tools are not on PATH.</summary>
    public const string NixNotFound = "NIXIMG001";

    /// <summary>One or more requested package names do not exist in the package set.</summary>
    public const string PackagesNotFound = "NIXIMG002";

    /// <summary>Nix could not evaluate the package set or the requested packages.</summary>
    public const string NixEvaluationFailed = "NIXIMG003";

    /// <summary>Nix could not build (realise) a requested package.</summary>
    public const string NixBuildFailed = "NIXIMG004";

    /// <summary>Nix's answer about the runtime closure could not be read.</summary>
    public const string NixClosureQueryFailed = "NIXIMG005";

    /// <summary>More than one package source was given, or a source is incomplete.</summary>
    public const string InvalidPackageSource = "NIXIMG006";

    /// <summary>A NixPackage item is not a valid attribute path.</summary>
    public const string InvalidPackageName = "NIXIMG007";

    /// <summary>A repository or tag does not follow the distribution grammar.</summary>
    public const string InvalidImageName = "NIXIMG008";

    /// <summary>The layer budget is below 1 or the image would exceed the layer limit.</summary>
    public const string LayerLimit = "NIXIMG009";

    /// <summary>The publish folder or the app's entry point is missing.</summary>
    public const string PublishOutputMissing = "NIXIMG010";

    /// <summary>The target platform cannot be mapped to a Nix system or an OCI platform.</summary>
    public const string UnsupportedPlatform = "NIXIMG011";

    /// <summary>Writing a layer, a blob or the image archive failed.</summary>
    public const string WriteFailed = "NIXIMG012";

    /// <summary>The .NET runtime package from Nix has no host (host/fxr) where one is expected.</summary>
    public const string DotnetRuntimeLayout = "NIXIMG013";

    /// <summary>Warning: two packages provide the same path in the image root; the first one wins.</summary>
    public const string SymlinkCollision = "NIXIMG014";

    /// <summary>An image setting (working directory, environment variable, ...) is invalid.</summary>
    public const string InvalidImageSetting = "NIXIMG015";

    /// <summary>NixPopularityFile is missing or is not a JSON map of name-version to count.</summary>
    public const string InvalidPopularityFile = "NIXIMG016";

    /// <summary>A ContainerPort item is not a port number with tcp or udp.</summary>
    public const string InvalidPort = "NIXIMG017";

    /// <summary>A ContainerEnvironmentVariable name is not a valid variable name.</summary>
    public const string InvalidEnvironmentVariable = "NIXIMG018";

    /// <summary>A ContainerLabel key is empty or holds characters a label key may not have.</summary>
    public const string InvalidLabel = "NIXIMG019";

    /// <summary>ContainerUser is not a user name or uid, with an optional group.</summary>
    public const string InvalidUser = "NIXIMG020";

    /// <summary>ContainerAppCommand, its arguments and ContainerAppCommandInstruction do not fit together.</summary>
    public const string InvalidAppCommand = "NIXIMG021";

    /// <summary>ContainerImageFormat is neither OCI nor Docker.</summary>
    public const string InvalidImageFormat = "NIXIMG022";

    /// <summary>Warning: a Nix package provides /etc/passwd or /etc/group; the generated ones replace it.</summary>
    public const string UserDatabaseReplaced = "NIXIMG023";

    /// <summary>Warning: the app's deps.json could not be read; the app goes into one layer.</summary>
    public const string DepsFileUnreadable = "NIXIMG024";

    /// <summary>Warning: a cached layer's blob was missing, truncated or corrupt; the layer is built again.</summary>
    public const string CacheEntryDamaged = "NIXIMG025";

    /// <summary>A cache or compression setting (NixImageCacheMaxSize, NixImageCompressionLevel, NixImageLayerCompression) is invalid.</summary>
    public const string InvalidCacheSetting = "NIXIMG026";

    /// <summary>Warning: an ELF file of the app needs a library that no Nix package of the image provides.</summary>
    public const string NativeLibraryMissing = "NIXIMG027";

    /// <summary>An ELF file of the app cannot be given the store's loader and RUNPATH (an error for the entry point, else a warning).</summary>
    public const string NativeFileNotLinked = "NIXIMG028";

    /// <summary>Warning: the publish folder holds a FIFO, socket or device; it is left out of the image, never opened.</summary>
    public const string SpecialFileSkipped = "NIXIMG029";

    // Registry push: NIXIMG030 and up.

    /// <summary>ContainerRegistry or an insecure-registry entry is not host[:port].</summary>
    public const string InvalidRegistry = "NIXIMG030";

    /// <summary>The registry or its token service refused the credentials, or asked for credentials that could not be found.</summary>
    public const string RegistryAuthenticationFailed = "NIXIMG031";

    /// <summary>A Docker or Podman credentials file, or a credential helper, could not be read.</summary>
    public const string RegistryCredentialsUnreadable = "NIXIMG032";

    /// <summary>The registry could not be reached (connection refused, reset or timed out) after every try.</summary>
    public const string RegistryUnreachable = "NIXIMG033";

    /// <summary>The registry's TLS certificate is not trusted.</summary>
    public const string RegistryCertificateUntrusted = "NIXIMG034";

    /// <summary>The registry answered a request with an error status (after every try, where retrying makes sense).</summary>
    public const string RegistryRequestFailed = "NIXIMG035";

    /// <summary>The registry reported a different digest for a blob or manifest than the one pushed.</summary>
    public const string RegistryDigestMismatch = "NIXIMG036";

    /// <summary>The image archive to push could not be read back (missing, damaged, or not written by this version).</summary>
    public const string ImageArchiveUnreadable = "NIXIMG037";

    /// <summary>The up-to-date image to push (no archive written) is no longer whole in the layer cache.</summary>
    public const string ImageNotInCache = "NIXIMG038";

    /// <summary>NixImageRegistryTimeout is not a whole number of seconds from 1 to 3600.</summary>
    public const string InvalidRegistryTimeout = "NIXIMG039";

    // Several platforms: NIXIMG040 and up.

    /// <summary>Nix has no way to realise the closure for the image's platform: no builder for that system, and no binary cache has the paths.</summary>
    public const string NixPlatformUnavailable = "NIXIMG040";

    /// <summary>A multi-platform image: a platform's image is not whole in the layer cache, or two runtime identifiers give the same platform.</summary>
    public const string PlatformImageUnusable = "NIXIMG041";

    // Local engines: NIXIMG042 and up.

    /// <summary>LocalRegistry names an engine whose CLI is missing, that does not answer, or that refused the image.</summary>
    public const string LocalEngineUnavailable = "NIXIMG042";

    // Base images: NIXIMG043 and up.

    /// <summary>ContainerBaseImage is not an image reference.</summary>
    public const string InvalidBaseImage = "NIXIMG043";

    /// <summary>The registry does not know the base image (its tag or digest, or a blob its manifest names).</summary>
    public const string BaseImageNotFound = "NIXIMG044";

    /// <summary>The base image has no image for the platform being built.</summary>
    public const string BaseImagePlatformMissing = "NIXIMG045";

    /// <summary>The base image cannot be built on: not a Linux image, a layer format this package cannot read, a blob that is not what its manifest says.</summary>
    public const string BaseImageUnusable = "NIXIMG046";

    // Builds from a lock file and binary caches: NIXIMG047 and up.

    /// <summary>A build without Nix has no usable lock file: none, unreadable, or without the image's platform.</summary>
    public const string LockFileMissing = "NIXIMG047";

    /// <summary>The lock file was made for other packages or another package set than the project asks for.</summary>
    public const string LockFileStale = "NIXIMG048";

    /// <summary>No binary cache has a store path of the lock file (or none answered).</summary>
    public const string StorePathNotCached = "NIXIMG049";

    /// <summary>A binary cache's narinfo is not signed by a trusted key, or does not match the lock file.</summary>
    public const string StorePathUntrusted = "NIXIMG050";

    /// <summary>A NAR from a binary cache is not what its hash says, is compressed in a way this package cannot read, or is not a NAR.</summary>
    public const string NarUnusable = "NIXIMG051";

    /// <summary>NixMode, NixBinaryCaches or NixTrustedPublicKeys has a value this package cannot use.</summary>
    public const string InvalidBinaryCacheSetting = "NIXIMG052";

    /// <summary>Warning: an app-host package's output (its library output, as lib.getLib chooses) has no lib folder.</summary>
    public const string AppHostPackageWithoutLibraries = "NIXIMG053";

    // zstd layers: NIXIMG054 and NIXIMG055.

    /// <summary>zstd layers (NixImageLayerCompression=zstd) asked for in a format that has no zstd layer type (ContainerImageFormat=Docker).</summary>
    public const string LayerCompressionNotInFormat = "NIXIMG054";

    /// <summary>An image with zstd layers is loaded into a local engine too old to read them (docker before 23).</summary>
    public const string EngineCannotReadZstd = "NIXIMG055";

    // The app's runtime: NIXIMG057 and NIXIMG058.

    /// <summary>No framework version in the image's .NET runtime satisfies what the app's runtimeconfig.json asks for (with its roll-forward policy).</summary>
    public const string RuntimeFrameworkMissing = "NIXIMG057";

    /// <summary>The app's runtimeconfig.json, or a roll-forward variable of the image's environment, is something the .NET host would refuse.</summary>
    public const string RuntimeConfigUnusable = "NIXIMG058";

    // SBOMs: NIXIMG056, NIXIMG059 and NIXIMG062.

    /// <summary>NixImageSbom names a format this package does not write (CycloneDX, SPDX or none).</summary>
    public const string InvalidSbomSetting = "NIXIMG056";

    /// <summary>A registry refused the SBOMs as OCI referrers (a warning: the image itself is pushed).</summary>
    public const string ReferrersRefused = "NIXIMG062";

    /// <summary>The app's NuGet assets file (obj/project.assets.json), which the SBOM's package list comes from, cannot be read.</summary>
    public const string AssetsFileUnreadable = "NIXIMG059";

    /// <summary>An unexpected failure inside Nixery.Build: a bug, reported without a stack trace.</summary>
    public const string InternalError = "NIXIMG099";
}
