namespace Nixery.Build.Settings;

/// <summary>
/// The MSBuild properties and items that decide an image, as the project gave them: plain strings, nothing
/// defaulted, nothing checked. The values MSBuild reads from the environment (NIX_PATH, SOURCE_DATE_EPOCH,
/// XDG_CACHE_HOME, HOME) come in here as strings too, so <see cref="ImageRequestFactory"/> never reads the process's
/// environment. Item metadata travels as pairs: (Include, the one metadata value that matters).
/// </summary>
public sealed record ImageInputs
{
    /// <summary>The project folder: relative paths are taken from here.</summary>
    public required string ProjectDirectory { get; init; }

    public required string PublishDirectory { get; init; }

    /// <summary>obj/…/nix-image: the build's own scratch folder.</summary>
    public required string IntermediateDirectory { get; init; }

    /// <summary>Where the archive goes when ContainerArchiveOutputPath is empty (bin/…/image).</summary>
    public required string DefaultArchiveDirectory { get; init; }

    /// <summary>AssemblyName: names the repository by default and the app's deps.json.</summary>
    public required string AssemblyName { get; init; }

    /// <summary>The NixPackage items.</summary>
    public IReadOnlyList<string> Packages { get; init; } = [];

    /// <summary>NixDefaultPackages; <c>none</c> adds nothing.</summary>
    public string? DefaultPackages { get; init; }

    /// <summary>NixDotnetRuntimePackage, derived by the targets from the target framework; <c>none</c> or empty for none.</summary>
    public string? DotnetRuntimePackage { get; init; }

    /// <summary>NixAppHostPackages, derived by the targets from SelfContained and UseAppHost; <c>none</c> adds nothing.</summary>
    public string? AppHostPackages { get; init; }

    public string? NixPkgsPath { get; init; }

    public string? NixPkgsChannel { get; init; }

    public string? NixPkgsGitRepository { get; init; }

    public string? NixPkgsGitRevision { get; init; }

    public string? NixSystem { get; init; }

    public string? RuntimeIdentifier { get; init; }

    /// <summary>NixLayerBudget.</summary>
    public string? LayerBudget { get; init; }

    /// <summary>NixPopularityFile: JSON of name-version → reference count.</summary>
    public string? PopularityFile { get; init; }

    /// <summary>ContainerRepository.</summary>
    public string? Repository { get; init; }

    /// <summary>ContainerImageTag.</summary>
    public string? ImageTag { get; init; }

    /// <summary>ContainerImageTags (semicolon-separated); wins over <see cref="ImageTag"/>.</summary>
    public string? ImageTags { get; init; }

    /// <summary>ContainerArchiveOutputPath: a file, or a folder (ending in a slash, or existing).</summary>
    public string? ArchiveOutputPath { get; init; }

    /// <summary>ContainerRegistry: when set, the image is pushed instead of archived, unless ArchiveOutputPath asks for both.</summary>
    public string? Registry { get; init; }

    /// <summary>ContainerInsecureRegistries: semicolon-separated host[:port] (checked here; used by the push).</summary>
    public string? InsecureRegistries { get; init; }

    /// <summary>DOTNET_CONTAINER_INSECURE_REGISTRIES: comma-separated host[:port] (checked here; used by the push).</summary>
    public string? InsecureRegistriesVariable { get; init; }

    /// <summary>NixImageRegistryTimeout: whole seconds (checked here; used by the push).</summary>
    public string? RegistryTimeout { get; init; }

    /// <summary>NixImageOciLayoutPath: a folder to write the image to as an OCI image layout too.</summary>
    public string? OciLayoutPath { get; init; }

    /// <summary>LocalRegistry: Docker or Podman, to load the image into; empty for none.</summary>
    public string? LocalRegistry { get; init; }

    /// <summary>ContainerBaseImage: the image to build on; empty for none.</summary>
    public string? BaseImage { get; init; }

    /// <summary>NixMode: Auto (Nix when it is on PATH, else the lock file), Nix, or Lock.</summary>
    public string? NixMode { get; init; }

    /// <summary>NixLockFile: the lock file's path; empty for nix-image.lock.json in the project folder.</summary>
    public string? LockFile { get; init; }

    /// <summary>NixBinaryCaches: the caches a build from the lock file fetches NARs from, in order.</summary>
    public string? BinaryCaches { get; init; }

    /// <summary>NixTrustedPublicKeys: the keys (<c>name:base64</c>) a binary cache's narinfo must be signed by.</summary>
    public string? TrustedPublicKeys { get; init; }

    /// <summary>The build's PATH: where NixMode=Auto looks for Nix.</summary>
    public string? PathVariable { get; init; }

    /// <summary>ContainerWorkingDirectory.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Whether the app uses ASP.NET Core (<c>true</c>), as the targets read it from its framework references.</summary>
    public string? IsAspNet { get; init; }

    /// <summary>ContainerImageFormat: OCI or Docker.</summary>
    public string? ImageFormat { get; init; }

    /// <summary>ContainerUser.</summary>
    public string? User { get; init; }

    /// <summary>ContainerAppCommand items; empty means the default app command (see <see cref="AppHostFileName"/>).</summary>
    public IReadOnlyList<string> AppCommand { get; init; } = [];

    public IReadOnlyList<string> AppCommandArgs { get; init; } = [];

    public IReadOnlyList<string> DefaultArgs { get; init; } = [];

    public string? AppCommandInstruction { get; init; }

    /// <summary>The SDK's older ContainerEntrypoint items.</summary>
    public IReadOnlyList<string> Entrypoint { get; init; } = [];

    /// <summary>The SDK's older ContainerEntrypointArgs items.</summary>
    public IReadOnlyList<string> EntrypointArgs { get; init; } = [];

    /// <summary>
    /// The apphost's file name when the app starts through it (a RID-specific or self-contained publish); then the
    /// default app command is that file in the working directory.
    /// </summary>
    public string? AppHostFileName { get; init; }

    /// <summary>The app's assembly file (<c>app.dll</c>): without an apphost, the default app command is <c>/bin/dotnet</c> with it.</summary>
    public string? AppFileName { get; init; }

    /// <summary>ContainerPort items: (number, Type).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Ports { get; init; } = [];

    /// <summary>ContainerEnvironmentVariable items: (name, Value).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> EnvironmentVariables { get; init; } = [];

    /// <summary>ContainerLabel items: (key, Value).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Labels { get; init; } = [];

    /// <summary>ContainerGenerateLabels: <c>false</c> turns the generated labels off.</summary>
    public string? GenerateLabels { get; init; }

    /// <summary>ContainerGenerateLabelsImageCreated: <c>false</c> leaves out the created labels.</summary>
    public string? GenerateCreatedLabel { get; init; }

    /// <summary>NixImageCacheDirectory.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>NixImageCacheMaxSize: 10GB, 500MB, 2GiB or bytes.</summary>
    public string? CacheMaxSize { get; init; }

    /// <summary>NixImageCompressionLevel: the codec's level (gzip 1 to 9, zstd 1 to 19).</summary>
    public string? CompressionLevel { get; init; }

    /// <summary>NixImageLayerCompression: gzip or zstd.</summary>
    public string? LayerCompression { get; init; }

    /// <summary>NixImageSbom: the SBOM formats (CycloneDX;SPDX), or none.</summary>
    public string? Sbom { get; init; }

    /// <summary>ProjectAssetsFile: the restore's project.assets.json (the app's NuGet packages, for the SBOM).</summary>
    public string? AssetsFile { get; init; }

    /// <summary>TargetFramework: the assets file's target.</summary>
    public string? TargetFramework { get; init; }

    /// <summary>Version: the app's version, as the SBOM names it.</summary>
    public string? Version { get; init; }

    /// <summary>The SOURCE_DATE_EPOCH environment variable.</summary>
    public string? SourceDateEpoch { get; init; }

    /// <summary>The NIX_PATH environment variable (it pins <c>&lt;nixpkgs&gt;</c> when no package source is set).</summary>
    public string? NixPath { get; init; }

    /// <summary>The XDG_CACHE_HOME environment variable.</summary>
    public string? XdgCacheHome { get; init; }

    /// <summary>The HOME environment variable.</summary>
    public string? HomeDirectory { get; init; }
}

/// <summary>A request as the factory resolved it, with the inputs it was made from (handed between the MSBuild tasks of one build).</summary>
public sealed record ResolvedRequest(ImageInputs Inputs, ImageRequest Request);
