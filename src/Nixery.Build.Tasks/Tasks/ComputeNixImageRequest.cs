using System.Globalization;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Nixery.Build.Settings;

namespace Nixery.Build.Tasks;

/// <summary>
/// Runs <see cref="ImageRequestFactory"/> on the project's settings and hands every resolved value back to MSBuild
/// (ComputeNixImageProperties), so a binlog or <c>-getProperty</c> shows what the image will be built with. Writes
/// nothing. Each output property holds a value the factory resolves again to itself.
/// </summary>
public sealed class ComputeNixImageRequest : NixImageInputsTask
{
    [Output]
    public string? ResolvedRepository { get; set; }

    /// <summary>The tags, semicolon-separated.</summary>
    [Output]
    public string? ResolvedImageTags { get; set; }

    [Output]
    public string? ResolvedWorkingDirectory { get; set; }

    [Output]
    public string? ResolvedUser { get; set; }

    /// <summary>ContainerBaseImage in full (registry, repository, tag or digest); empty for none.</summary>
    [Output]
    public string? ResolvedBaseImage { get; set; }

    [Output]
    public string? ResolvedImageFormat { get; set; }

    [Output]
    public string? ResolvedNixSystem { get; set; }

    [Output]
    public string? ResolvedLayerBudget { get; set; }

    /// <summary>NixDefaultPackages: the list, or <c>none</c>.</summary>
    [Output]
    public string? ResolvedDefaultPackages { get; set; }

    [Output]
    public string? ResolvedCacheDirectory { get; set; }

    /// <summary>NixImageCacheMaxSize in bytes.</summary>
    [Output]
    public string? ResolvedCacheMaxSize { get; set; }

    [Output]
    public string? ResolvedCompressionLevel { get; set; }

    /// <summary>The archive file, whether or not it is written (see <see cref="ResolvedWriteArchive"/>).</summary>
    [Output]
    public string? ResolvedArchivePath { get; set; }

    [Output]
    public string? ResolvedWriteArchive { get; set; }

    [Output]
    public string? ResolvedSummaryPath { get; set; }

    [Output]
    public string? ResolvedOciLayoutPath { get; set; }

    /// <summary>NixMode as set (Auto is decided when the image is built: by whether Nix is on PATH).</summary>
    [Output]
    public string? ResolvedNixMode { get; set; }

    [Output]
    public string? ResolvedLockFile { get; set; }

    [Output]
    public string? ResolvedBinaryCaches { get; set; }

    [Output]
    public string? ResolvedTrustedPublicKeys { get; set; }

    [Output]
    public string? ResolvedPopularityFile { get; set; }

    /// <summary>The image's time (config, tar entries, created labels), ISO 8601.</summary>
    [Output]
    public string? ResolvedCreated { get; set; }

    /// <summary>ContainerAppCommand: as given, or the default app command.</summary>
    [Output]
    public ITaskItem[] ResolvedAppCommand { get; set; } = [];

    [Output]
    public ITaskItem[] ResolvedEntrypoint { get; set; } = [];

    [Output]
    public ITaskItem[] ResolvedCommand { get; set; } = [];

    /// <summary>Every Nix package of the image, with the setting it came from in <c>Origin</c>.</summary>
    [Output]
    public ITaskItem[] ResolvedPackages { get; set; } = [];

    [Output]
    public ITaskItem[] ResolvedPorts { get; set; } = [];

    /// <summary>Every label, generated ones included, value in <c>Value</c>.</summary>
    [Output]
    public ITaskItem[] ResolvedLabels { get; set; } = [];

    protected override string CancelledMessage => "Cancelled; the image settings were not computed.";

    protected override void Run(CancellationToken cancellationToken)
    {
        var inputs = Inputs();
        var r = ImageRequestFactory.Create(inputs);
        ResolvedRepository = r.Repository;
        ResolvedImageTags = string.Join(';', r.Tags);
        ResolvedWorkingDirectory = r.WorkingDirectory;
        ResolvedUser = r.User;
        ResolvedBaseImage = r.BaseImage;
        ResolvedImageFormat = r.Format == Settings.ImageFormat.Oci ? "OCI" : "Docker";
        ResolvedNixSystem = r.Platform.NixSystem;
        ResolvedLayerBudget = r.LayerBudget.ToString(CultureInfo.InvariantCulture);
        var defaults = r.Packages.Where(p => p.Origin == "NixDefaultPackages").Select(p => p.Name).ToList();
        ResolvedDefaultPackages = defaults.Count == 0 ? "none" : string.Join(';', defaults);
        ResolvedCacheDirectory = r.CacheDirectory;
        ResolvedCacheMaxSize = r.CacheMaxSize.ToString(CultureInfo.InvariantCulture);
        ResolvedCompressionLevel = r.CompressionLevel.ToString(CultureInfo.InvariantCulture);
        ResolvedArchivePath = r.ArchivePath;
        ResolvedWriteArchive = r.WriteArchive ? "true" : "false";
        ResolvedSummaryPath = r.SummaryPath;
        ResolvedOciLayoutPath = r.OciLayoutPath;
        ResolvedNixMode = r.NixMode.ToString();
        ResolvedLockFile = r.LockFile;
        ResolvedBinaryCaches = string.Join(';', r.BinaryCaches);
        ResolvedTrustedPublicKeys = string.Join(';', r.TrustedPublicKeys);
        ResolvedPopularityFile = r.PopularityFile;
        ResolvedCreated = r.Created.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        ResolvedAppCommand = [.. (inputs.AppCommand.Count > 0 ? inputs.AppCommand : AppCommandOf(r)).Select(Item)];
        ResolvedEntrypoint = [.. r.Entrypoint.Select(Item)];
        ResolvedCommand = [.. r.Command.Select(Item)];
        ResolvedPackages = [.. r.Packages.Select(p => Item(p.Name, ("Origin", p.Origin)))];
        ResolvedPorts = [.. r.Ports.Select(p => Item(p))];
        ResolvedLabels = [.. r.Labels.Select(l => Item(l.Key, ("Value", l.Value)))];
    }

    /// <summary>The default app command, as the factory made it: what the entry point starts with.</summary>
    private IReadOnlyList<string> AppCommandOf(ImageRequest request) =>
        ImageRequestFactory.DefaultAppCommand(Inputs(), request.WorkingDirectory, request.BaseImage is not null);

    private static TaskItem Item(string spec) => new(spec);

    private static TaskItem Item(string spec, params (string Name, string Value)[] metadata)
    {
        var item = new TaskItem(spec);
        foreach (var (name, value) in metadata)
        {
            item.SetMetadata(name, value);
        }

        return item;
    }
}
