using Microsoft.Build.Framework;
using Nixery.Build.Pipeline;

namespace Nixery.Build.Tasks;

/// <summary>
/// A multi-platform publish (ContainerRuntimeIdentifiers): joins the images each RID's publish built into the layer
/// cache into one image index, and sends it to every sink the request names, plus <see cref="Registry"/> when set.
/// </summary>
public sealed class BuildNixImageIndex : CancelableNixTask
{
    /// <summary>The request of the multi-platform publish itself (names, tags, destinations).</summary>
    [Required]
    public string RequestFile { get; set; } = string.Empty;

    /// <summary>One item per RID: the RID, with metadata <c>ImageDigest</c> (its manifest) and <c>NixSystem</c>.</summary>
    [Required]
    public ITaskItem[] PlatformImages { get; set; } = [];

    public string? Registry { get; set; }

    public string? InsecureRegistries { get; set; }

    public string? RegistryTimeout { get; set; }

    [Output]
    public string? ImageDigest { get; set; }

    [Output]
    public string? PushedReferences { get; set; }

    [Output]
    public string? ArchivePath { get; set; }

    protected override string CancelledMessage => "Image index cancelled; nothing was written.";

    protected override void Run(CancellationToken cancellationToken)
    {
        var registry = string.IsNullOrWhiteSpace(Registry) ? null : new RegistrySettings(Registry, InsecureRegistries, RegistryTimeout);
        var platforms = PlatformImages.Select(i => PlatformImage.Parse(i.ItemSpec, i.GetMetadata("NixSystem"), i.GetMetadata("ImageDigest"))).ToList();
        var prepared = BuildEngine4.GetRegisteredTaskObject(PrepareNixImage.PreparedRequestKey(RequestFile), RegisteredTaskObjectLifetime.Build) as PreparedRequest;
        var result = ImageJob.RunIndexAsync(RequestFile, prepared, platforms, registry, new MSBuildLog(Log), Environment.GetEnvironmentVariable, cancellationToken).GetAwaiter().GetResult();
        ImageDigest = result.Digest.Value;
        ArchivePath = result.ArchivePath;
        PushedReferences = string.Join(';', result.PushedReferences);
    }
}
