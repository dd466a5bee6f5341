using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Pipeline;

namespace Nixery.Build.Tasks;

/// <summary>
/// Builds the image from the publish folder and the Nix packages. Turns MSBuild inputs into an
/// <see cref="ImageRequest"/>, runs <see cref="ImageBuilder"/>, and turns its coded exceptions into
/// MSBuild errors (<c>NIXIMG###</c>) without stack traces.
/// </summary>
public sealed class BuildNixImage : Microsoft.Build.Utilities.Task, ICancelableTask
{
    // Tasks are never disposed; the source lives for one Execute and cancelling after that is harmless.
    private volatile CancellationTokenSource? _cancel;

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

    /// <summary>Where the archive goes when ArchiveOutputPath is empty or a folder.</summary>
    [Required]
    public string DefaultArchiveDirectory { get; set; } = string.Empty;

    public string? WorkingDirectory { get; set; }

    [Required]
    public ITaskItem[] Entrypoint { get; set; } = [];

    public ITaskItem[] Command { get; set; } = [];

    /// <summary>ContainerEnvironmentVariable items: name in Include, value in <c>Value</c> metadata.</summary>
    public ITaskItem[] EnvironmentVariables { get; set; } = [];

    public string? SourceDateEpoch { get; set; }

    /// <summary>ContainerRegistry: host[:port] to push to as well; empty writes the archive only.</summary>
    public string? Registry { get; set; }

    /// <summary>ContainerInsecureRegistries: semicolon-separated host[:port] reached without TLS checks.</summary>
    public string? InsecureRegistries { get; set; }

    /// <summary>NixImageCacheDirectory: the user's cache folder; empty for the default.</summary>
    public string? CacheDirectory { get; set; }

    [Output]
    public string? ImageDigest { get; set; }

    [Output]
    public string? ArchivePath { get; set; }

    /// <summary>The references pushed (registry/repository:tag), semicolon-separated.</summary>
    [Output]
    public string? PushedReferences { get; set; }

    public void Cancel()
    {
        try
        {
            _cancel?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Execute has finished.
        }
    }

    public override bool Execute()
    {
        using var cancel = new CancellationTokenSource();
        _cancel = cancel;
        try
        {
            var request = CreateRequest();
            var builder = new ImageBuilder(new MSBuildLog(Log), Environment.GetEnvironmentVariable("PATH"));
            var result = builder.BuildAsync(request, cancel.Token).GetAwaiter().GetResult();
            ImageDigest = result.Image.Digest.Value;
            ArchivePath = result.ArchivePath;
            PushedReferences = string.Join(';', result.PushedReferences);
        }
        catch (NixImageException e)
        {
            Log.LogError(subcategory: null, e.Code, helpKeyword: null, file: null, lineNumber: 0, columnNumber: 0, endLineNumber: 0, endColumnNumber: 0, e.Message);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Log.LogMessage(MessageImportance.High, "Image build cancelled; nothing was written.");
            return false;
        }

        finally
        {
            _cancel = null;
        }

        return !Log.HasLoggedErrors;
    }

    internal ImageRequest CreateRequest()
    {
        var runtime = OptionalName(DotnetRuntimePackage);
        var packages = new List<PackageRequest>();
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
        var tags = List(ImageTags);
        if (tags.Count == 0)
        {
            tags = List(ImageTag);
        }

        if (tags.Count == 0)
        {
            tags = ["latest"];
        }

        return new ImageRequest
        {
            PublishDirectory = Path.GetFullPath(PublishDirectory, ProjectDirectory),
            Packages = PackageNames.Normalize(packages),
            Source = NixPackageSource.From(NixPkgsPath, NixPkgsChannel, NixPkgsGitRepository, NixPkgsGitRevision, ProjectDirectory),
            Platform = platform,
            DotnetRuntimePackage = runtime,
            Repository = repository,
            Tags = tags,
            ArchivePath = ResolveArchivePath(repository),
            Push = CreatePush(repository, tags),
            WorkingDirectory = string.IsNullOrWhiteSpace(WorkingDirectory) ? "/app" : WorkingDirectory.Trim(),
            Entrypoint = Entrypoint.Select(i => i.ItemSpec).ToList(),
            Command = Command.Select(i => i.ItemSpec).ToList(),
            Environment = EnvironmentVariables.Select(i => new KeyValuePair<string, string>(i.ItemSpec, i.GetMetadata("Value"))).ToList(),
            LayerBudget = ParseBudget(),
            Popularity = string.IsNullOrWhiteSpace(PopularityFile)
                ? Layers.Popularity.None
                : Layers.PopularityFile.Load(Path.GetFullPath(PopularityFile.Trim(), ProjectDirectory)),
            IntermediateDirectory = Path.GetFullPath(IntermediateDirectory, ProjectDirectory),
            Created = ImageDefaults.CreatedFrom(SourceDateEpoch),
        };
    }

    /// <summary>The push, validated before anything is built: registry and insecure entries are host[:port].</summary>
    private Registry.RegistryPushRequest? CreatePush(string repository, List<string> tags)
    {
        if (string.IsNullOrWhiteSpace(Registry))
        {
            return null;
        }

        Func<string, string?> environment = Environment.GetEnvironmentVariable;
        return new Registry.RegistryPushRequest
        {
            Registry = Nixery.Build.Registry.RegistryHost.Parse(Registry.Trim()),
            Repository = repository,
            Tags = tags,
            Insecure = Nixery.Build.Registry.InsecureRegistries.Parse(environment(Nixery.Build.Registry.InsecureRegistries.EnvironmentVariable), InsecureRegistries),
            CacheDirectory = Cache.CacheDirectory.Resolve(CacheDirectory, ProjectDirectory, environment),
            Environment = environment,
        };
    }

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
