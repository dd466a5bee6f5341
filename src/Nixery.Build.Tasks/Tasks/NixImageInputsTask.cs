using Microsoft.Build.Framework;
using Nixery.Build.Settings;

namespace Nixery.Build.Tasks;

/// <summary>
/// The MSBuild properties and items that decide an image, as task parameters, and their marshalling into
/// <see cref="ImageInputs"/>: strings as given, item specs and the one metadata value that matters. Nothing is
/// defaulted or checked here; <see cref="ImageRequestFactory"/> does both.
/// </summary>
public abstract class NixImageInputsTask : CancelableNixTask
{
    [Required]
    public string PublishDirectory { get; set; } = string.Empty;

    [Required]
    public string ProjectDirectory { get; set; } = string.Empty;

    [Required]
    public string IntermediateDirectory { get; set; } = string.Empty;

    /// <summary>Where the archive goes when ArchiveOutputPath is empty or a folder.</summary>
    [Required]
    public string DefaultArchiveDirectory { get; set; } = string.Empty;

    [Required]
    public string AssemblyName { get; set; } = string.Empty;

    /// <summary>The <c>NixPackage</c> items.</summary>
    public ITaskItem[] Packages { get; set; } = [];

    public string? DefaultPackages { get; set; }

    public string? DotnetRuntimePackage { get; set; }

    public string? AppHostPackages { get; set; }

    public string? NixPkgsPath { get; set; }

    public string? NixPkgsChannel { get; set; }

    public string? NixPkgsGitRepository { get; set; }

    public string? NixPkgsGitRevision { get; set; }

    public string? NixSystem { get; set; }

    public string? RuntimeIdentifier { get; set; }

    public string? LayerBudget { get; set; }

    public string? PopularityFile { get; set; }

    public string? Repository { get; set; }

    public string? ImageTag { get; set; }

    public string? ImageTags { get; set; }

    public string? ArchiveOutputPath { get; set; }

    public string? Registry { get; set; }

    /// <summary>ContainerInsecureRegistries: semicolon-separated host[:port].</summary>
    public string? InsecureRegistries { get; set; }

    /// <summary>DOTNET_CONTAINER_INSECURE_REGISTRIES, as the build sees it.</summary>
    public string? InsecureRegistriesVariable { get; set; }

    /// <summary>NixImageRegistryTimeout: seconds.</summary>
    public string? RegistryTimeout { get; set; }

    public string? OciLayoutPath { get; set; }

    /// <summary>LocalRegistry: Docker or Podman.</summary>
    public string? LocalRegistry { get; set; }

    /// <summary>ContainerBaseImage.</summary>
    public string? BaseImage { get; set; }

    public string? NixMode { get; set; }

    public string? LockFile { get; set; }

    public string? BinaryCaches { get; set; }

    public string? TrustedPublicKeys { get; set; }

    /// <summary>The build's PATH.</summary>
    public string? PathVariable { get; set; }

    public string? WorkingDirectory { get; set; }

    public bool IsAspNet { get; set; }

    public string? ImageFormat { get; set; }

    public string? User { get; set; }

    public ITaskItem[] AppCommand { get; set; } = [];

    public ITaskItem[] AppCommandArgs { get; set; } = [];

    public ITaskItem[] DefaultArgs { get; set; } = [];

    public string? AppCommandInstruction { get; set; }

    public ITaskItem[] Entrypoint { get; set; } = [];

    public ITaskItem[] EntrypointArgs { get; set; } = [];

    public string? AppHostFileName { get; set; }

    public string? AppFileName { get; set; }

    /// <summary>ContainerPort items: number in Include, <c>Type</c> tcp or udp.</summary>
    public ITaskItem[] Ports { get; set; } = [];

    /// <summary>ContainerEnvironmentVariable items: name in Include, value in <c>Value</c> metadata.</summary>
    public ITaskItem[] EnvironmentVariables { get; set; } = [];

    /// <summary>ContainerLabel items: key in Include, value in <c>Value</c> metadata.</summary>
    public ITaskItem[] Labels { get; set; } = [];

    public string? GenerateLabels { get; set; }

    public string? GenerateCreatedLabel { get; set; }

    public string? CacheDirectory { get; set; }

    public string? CacheMaxSize { get; set; }

    public string? CompressionLevel { get; set; }

    public string? SourceDateEpoch { get; set; }

    public string? NixPath { get; set; }

    public string? XdgCacheHome { get; set; }

    public string? HomeDirectory { get; set; }

    internal ImageInputs Inputs() => new()
    {
        ProjectDirectory = ProjectDirectory,
        PublishDirectory = PublishDirectory,
        IntermediateDirectory = IntermediateDirectory,
        DefaultArchiveDirectory = DefaultArchiveDirectory,
        AssemblyName = AssemblyName,
        Packages = Specs(Packages),
        DefaultPackages = DefaultPackages,
        DotnetRuntimePackage = DotnetRuntimePackage,
        AppHostPackages = AppHostPackages,
        NixPkgsPath = NixPkgsPath,
        NixPkgsChannel = NixPkgsChannel,
        NixPkgsGitRepository = NixPkgsGitRepository,
        NixPkgsGitRevision = NixPkgsGitRevision,
        NixSystem = NixSystem,
        RuntimeIdentifier = RuntimeIdentifier,
        LayerBudget = LayerBudget,
        PopularityFile = PopularityFile,
        Repository = Repository,
        ImageTag = ImageTag,
        ImageTags = ImageTags,
        ArchiveOutputPath = ArchiveOutputPath,
        Registry = Registry,
        InsecureRegistries = InsecureRegistries,
        InsecureRegistriesVariable = InsecureRegistriesVariable,
        RegistryTimeout = RegistryTimeout,
        OciLayoutPath = OciLayoutPath,
        LocalRegistry = LocalRegistry,
        BaseImage = BaseImage,
        NixMode = NixMode,
        LockFile = LockFile,
        BinaryCaches = BinaryCaches,
        TrustedPublicKeys = TrustedPublicKeys,
        PathVariable = PathVariable,
        WorkingDirectory = WorkingDirectory,
        IsAspNet = IsAspNet ? "true" : "false",
        ImageFormat = ImageFormat,
        User = User,
        AppCommand = Specs(AppCommand),
        AppCommandArgs = Specs(AppCommandArgs),
        DefaultArgs = Specs(DefaultArgs),
        AppCommandInstruction = AppCommandInstruction,
        Entrypoint = Specs(Entrypoint),
        EntrypointArgs = Specs(EntrypointArgs),
        AppHostFileName = AppHostFileName,
        AppFileName = AppFileName,
        Ports = Pairs(Ports, "Type"),
        EnvironmentVariables = Pairs(EnvironmentVariables, "Value"),
        Labels = Pairs(Labels, "Value"),
        GenerateLabels = GenerateLabels,
        GenerateCreatedLabel = GenerateCreatedLabel,
        CacheDirectory = CacheDirectory,
        CacheMaxSize = CacheMaxSize,
        CompressionLevel = CompressionLevel,
        SourceDateEpoch = SourceDateEpoch,
        NixPath = NixPath,
        XdgCacheHome = XdgCacheHome,
        HomeDirectory = HomeDirectory,
    };

    private static List<string> Specs(ITaskItem[] items) => items.Select(i => i.ItemSpec).ToList();

    private static List<KeyValuePair<string, string>> Pairs(ITaskItem[] items, string metadata) =>
        items.Select(i => new KeyValuePair<string, string>(i.ItemSpec, i.GetMetadata(metadata))).ToList();
}
