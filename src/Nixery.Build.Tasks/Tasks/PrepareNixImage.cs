using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Pipeline;

namespace Nixery.Build.Tasks;

/// <summary>
/// Turns the MSBuild properties and items into an <see cref="ImageRequest"/>, validates it, and writes it to
/// the request file that <see cref="BuildNixImage"/> builds from. The file changes only when something that
/// decides the image changes, so the image target's Inputs/Outputs skip all work when nothing did.
/// Coded exceptions become MSBuild errors (<c>NIXIMG###</c>) without stack traces.
/// </summary>
public sealed class PrepareNixImage : CancelableNixTask
{
    [Required]
    public string PublishDirectory { get; set; } = string.Empty;

    [Required]
    public string ProjectDirectory { get; set; } = string.Empty;

    [Required]
    public string IntermediateDirectory { get; set; } = string.Empty;

    /// <summary>The <c>NixPackage</c> items.</summary>
    public ITaskItem[] Packages { get; set; } = [];

    /// <summary>NixDefaultPackages; <c>none</c> adds nothing.</summary>
    public string? DefaultPackages { get; set; }

    /// <summary>NixDotnetRuntimePackage, already defaulted by the targets; <c>none</c> or empty for none.</summary>
    public string? DotnetRuntimePackage { get; set; }

    /// <summary>NixAppHostPackages, already defaulted by the targets; <c>none</c> adds nothing.</summary>
    public string? AppHostPackages { get; set; }

    public string? NixPkgsPath { get; set; }

    public string? NixPkgsChannel { get; set; }

    public string? NixPkgsGitRepository { get; set; }

    public string? NixPkgsGitRevision { get; set; }

    public string? NixSystem { get; set; }

    public string? RuntimeIdentifier { get; set; }

    public string? LayerBudget { get; set; }

    /// <summary>NixPopularityFile: JSON of name-version → reference count.</summary>
    public string? PopularityFile { get; set; }

    [Required]
    public string AssemblyName { get; set; } = string.Empty;

    public string? Repository { get; set; }

    public string? ImageTag { get; set; }

    public string? ImageTags { get; set; }

    public string? ArchiveOutputPath { get; set; }

    /// <summary>ContainerRegistry: when set, the image is pushed instead of archived, unless ArchiveOutputPath asks for both.</summary>
    public string? Registry { get; set; }

    /// <summary>NixImageOciLayoutPath: an OCI image layout folder to write the image into as well.</summary>
    public string? OciLayoutPath { get; set; }

    /// <summary>Where the archive goes when ArchiveOutputPath is empty or a folder.</summary>
    [Required]
    public string DefaultArchiveDirectory { get; set; } = string.Empty;

    public string? WorkingDirectory { get; set; }

    /// <summary>Whether the app uses ASP.NET Core (it then listens on 8080, as in the SDK's images).</summary>
    public bool IsAspNet { get; set; }

    public string? ImageFormat { get; set; }

    /// <summary>ContainerUser; empty means the non-root <c>app</c> user (1654).</summary>
    public string? User { get; set; }

    /// <summary>ContainerAppCommand items (the targets default them to the apphost or <c>dotnet app.dll</c>).</summary>
    public ITaskItem[] AppCommand { get; set; } = [];

    public ITaskItem[] AppCommandArgs { get; set; } = [];

    public ITaskItem[] DefaultArgs { get; set; } = [];

    public string? AppCommandInstruction { get; set; }

    /// <summary>The SDK's older ContainerEntrypoint items.</summary>
    public ITaskItem[] Entrypoint { get; set; } = [];

    /// <summary>The SDK's older ContainerEntrypointArgs items.</summary>
    public ITaskItem[] EntrypointArgs { get; set; } = [];

    /// <summary>ContainerPort items: number in Include, <c>Type</c> tcp or udp.</summary>
    public ITaskItem[] Ports { get; set; } = [];

    /// <summary>ContainerEnvironmentVariable items: name in Include, value in <c>Value</c> metadata.</summary>
    public ITaskItem[] EnvironmentVariables { get; set; } = [];

    /// <summary>ContainerLabel items: key in Include, value in <c>Value</c> metadata.</summary>
    public ITaskItem[] Labels { get; set; } = [];

    /// <summary>ContainerGenerateLabels: also add labels naming the Nix packages and their source.</summary>
    public string? GenerateLabels { get; set; }

    /// <summary>ContainerGenerateLabelsImageCreated: add org.opencontainers.image.created (the image's fixed time).</summary>
    public string? GenerateCreatedLabel { get; set; }

    public string? SourceDateEpoch { get; set; }

    /// <summary>NixImageCacheDirectory; empty means $XDG_CACHE_HOME/nixery-build or ~/.cache/nixery-build.</summary>
    public string? CacheDirectory { get; set; }

    /// <summary>NixImageCacheMaxSize: 10GB, 500MB, 1GiB or bytes.</summary>
    public string? CacheMaxSize { get; set; }

    /// <summary>NixImageCompressionLevel: gzip level 1 to 9.</summary>
    public string? CompressionLevel { get; set; }

    /// <summary>Where to write the request (in the obj folder).</summary>
    [Required]
    public string RequestFile { get; set; } = string.Empty;

    /// <summary>The archive the image will be written to (for the image target's Outputs).</summary>
    [Output]
    public string? ArchivePath { get; set; }

    [Output]
    public string? SummaryPath { get; set; }

    protected override string CancelledMessage => "Cancelled; the image request was not written.";

    protected override void Run(CancellationToken cancellationToken)
    {
        var request = CreateRequest();
        LeftoverFiles.Remove(request);
        Pipeline.RequestFile.WriteIfChanged(request, RequestFile);
        ArchivePath = request.WriteArchive ? request.ArchivePath : null;
        SummaryPath = request.SummaryPath;
    }

    internal ImageRequest CreateRequest()
    {
        var runtime = OptionalName(DotnetRuntimePackage);
        var packages = new List<PackageRequest>();
        var requested = Packages.Select(p => p.ItemSpec.Trim()).Where(p => p.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        packages.AddRange(Packages.Select(p => new PackageRequest(p.ItemSpec, "NixPackage")));
        packages.AddRange(List(DefaultPackages).Select(p => new PackageRequest(p, "NixDefaultPackages")));
        packages.AddRange(List(AppHostPackages).Select(p => new PackageRequest(p, "NixAppHostPackages")));
        if (runtime is not null)
        {
            packages.Add(new PackageRequest(runtime, "NixDotnetRuntimePackage"));
        }

        var platform = string.IsNullOrWhiteSpace(NixSystem)
            ? Platform.FromRuntimeIdentifier(RuntimeIdentifier)
            : Platform.FromNixSystem(NixSystem.Trim());

        var repository = string.IsNullOrWhiteSpace(Repository) ? ImageNames.RepositoryFromAssemblyName(AssemblyName) : Repository.Trim();
        // A tag given twice is one tag (index.json and RepoTags would list it twice).
        var tags = List(ImageTags).Distinct(StringComparer.Ordinal).ToList();
        if (tags.Count == 0)
        {
            tags = List(ImageTag);
        }

        if (tags.Count == 0)
        {
            tags = ["latest"];
        }

        var source = NixPackageSource.From(NixPkgsPath, NixPkgsChannel, NixPkgsGitRepository, NixPkgsGitRevision, ProjectDirectory);
        var popularityFile = string.IsNullOrWhiteSpace(PopularityFile) ? null : Path.GetFullPath(PopularityFile.Trim(), ProjectDirectory);
        var (entrypoint, command) = ImageSettings.EntrypointAndCmd(
            Specs(AppCommand), Specs(AppCommandArgs), Specs(DefaultArgs), AppCommandInstruction, Specs(Entrypoint), Specs(EntrypointArgs));
        var generateLabels = !IsFalse(GenerateLabels);
        var labels = Labels.Select(i => new KeyValuePair<string, string>(i.ItemSpec, i.GetMetadata("Value"))).ToList();
        if (generateLabels)
        {
            // Which Nix packages the image was asked for, and from where: what a scanner or a curious user needs to rebuild it.
            labels.Insert(0, new("build.nixery.nix.packages", string.Join(' ', requested.Order(StringComparer.Ordinal))));
            labels.Insert(1, new("build.nixery.nix.source", NixPkgsLabel(source)));
        }

        var publishDirectory = Path.GetFullPath(PublishDirectory, ProjectDirectory);
        return new ImageRequest
        {
            PublishDirectory = publishDirectory,
            PublishFolderFingerprint = PublishFolder.Fingerprint(publishDirectory),
            Packages = PackageNames.Normalize(packages),
            Source = source,
            Platform = platform,
            DotnetRuntimePackage = runtime,
            AppHostPackages = List(AppHostPackages),
            Repository = repository,
            Tags = tags,
            ArchivePath = ResolveArchivePath(repository),
            WriteArchive = string.IsNullOrWhiteSpace(Registry) || !string.IsNullOrWhiteSpace(ArchiveOutputPath),
            OciLayoutPath = string.IsNullOrWhiteSpace(OciLayoutPath) ? null : Path.GetFullPath(OciLayoutPath.Trim(), ProjectDirectory),
            WorkingDirectory = ImageSettings.WorkingDirectory(WorkingDirectory),
            Entrypoint = entrypoint,
            Command = command,
            Environment = EnvironmentVariables.Select(i => new KeyValuePair<string, string>(i.ItemSpec, i.GetMetadata("Value"))).ToList(),
            User = string.IsNullOrWhiteSpace(User) ? Layers.UserDatabase.AppUid.ToString(System.Globalization.CultureInfo.InvariantCulture) : User.Trim(),
            Ports = Ports.Select(p => ImageSettings.Port(p.ItemSpec, p.GetMetadata("Type"))).ToList(),
            Labels = labels,
            GenerateCreatedLabel = generateLabels && !IsFalse(GenerateCreatedLabel),
            IsAspNet = IsAspNet,
            AppName = AssemblyName,
            Format = ImageSettings.Format(ImageFormat),
            LayerBudget = ParseBudget(),
            Popularity = popularityFile is null ? Layers.Popularity.None : Layers.PopularityFile.Load(popularityFile),
            PopularityFile = popularityFile,
            NixSourceIdentity = NixSourceIdentity.Of(source, Environment.GetEnvironmentVariable("NIX_PATH")),
            CacheDirectory = ResolveCacheDirectory(),
            CacheMaxSize = ParseCacheMaxSize(),
            CompressionLevel = ParseCompressionLevel(),
            IntermediateDirectory = Path.GetFullPath(IntermediateDirectory, ProjectDirectory),
            Created = ImageDefaults.CreatedFrom(SourceDateEpoch),
        };
    }

    private string ResolveCacheDirectory() => ImageDefaults.CacheDirectory(CacheDirectory, ProjectDirectory);

    private long ParseCacheMaxSize()
    {
        if (string.IsNullOrWhiteSpace(CacheMaxSize))
        {
            return ImageDefaults.CacheMaxSize;
        }

        try
        {
            return Cache.LayerCache.ParseSize(CacheMaxSize);
        }
        catch (FormatException)
        {
            throw new NixImageException(ErrorCodes.InvalidCacheSetting, $"NixImageCacheMaxSize '{CacheMaxSize}' is not a size. Use e.g. 10GB, 500MB or 2GiB.");
        }
    }

    private int ParseCompressionLevel()
    {
        if (string.IsNullOrWhiteSpace(CompressionLevel))
        {
            return ImageDefaults.CompressionLevel;
        }

        if (!int.TryParse(CompressionLevel.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var level) || level is < 1 or > 9)
        {
            throw new NixImageException(ErrorCodes.InvalidCacheSetting, $"NixImageCompressionLevel '{CompressionLevel}' is not a gzip level. Use a number from 1 (fastest) to 9 (smallest).");
        }

        return level;
    }

    private static List<string> Specs(ITaskItem[] items) => items.Select(i => i.ItemSpec).ToList();

    private static bool IsFalse(string? value) => string.Equals(value?.Trim(), "false", StringComparison.OrdinalIgnoreCase);

    /// <summary>The package source as the project names it: no absolute path of this machine, so checkouts elsewhere give the same label.</summary>
    private string NixPkgsLabel(NixPackageSource source) => source switch
    {
        NixPackageSource.LocalPath => "path:" + NixPkgsPath!.Trim(),
        NixPackageSource.Channel channel => "channel:" + channel.Name,
        NixPackageSource.Git git => "git:" + git.Url + (git.Revision is null ? string.Empty : "#" + git.Revision),
        _ => "<nixpkgs>",
    };

    private string ResolveArchivePath(string repository)
    {
        var fileName = repository.Replace('/', '-') + ".tar";
        if (string.IsNullOrWhiteSpace(ArchiveOutputPath))
        {
            return Path.Combine(Path.GetFullPath(DefaultArchiveDirectory, ProjectDirectory), fileName);
        }

        var path = Path.GetFullPath(ArchiveOutputPath.Trim(), ProjectDirectory);
        var isFolder = ArchiveOutputPath.TrimEnd().EndsWith('/') || ArchiveOutputPath.TrimEnd().EndsWith('\\') || Directory.Exists(path);
        return isFolder ? Path.Combine(path, fileName) : path;
    }

    private int ParseBudget()
    {
        if (string.IsNullOrWhiteSpace(LayerBudget))
        {
            return 94;
        }

        if (!int.TryParse(LayerBudget.Trim(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var budget))
        {
            throw new NixImageException(ErrorCodes.LayerLimit, $"NixLayerBudget '{LayerBudget}' is not a whole number. Set it to a number from 1 to {ImageDefaults.MaxLayers - 2}.");
        }

        return budget;
    }

    private static string? OptionalName(string? value) =>
        string.IsNullOrWhiteSpace(value) || value.Trim() == "none" ? null : value.Trim();

    private static List<string> List(string? value) =>
        OptionalName(value) is { } list
            ? list.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : [];
}
