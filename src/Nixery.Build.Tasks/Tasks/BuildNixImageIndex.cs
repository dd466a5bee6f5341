using Microsoft.Build.Framework;
using Nixery.Build.Pipeline;

namespace Nixery.Build.Tasks;

/// <summary>
/// A multi-platform publish (ContainerRuntimeIdentifiers): joins the images each RID's publish built into the layer
/// cache into one image index, and sends it to every sink the request names, plus <see cref="ImageSinkTask.Registry"/> when set.
/// </summary>
public sealed class BuildNixImageIndex : ImageSinkTask
{
    /// <summary>One item per RID: the RID, with metadata <c>ImageDigest</c> (its manifest) and <c>NixSystem</c>.</summary>
    [Required]
    public ITaskItem[] PlatformImages { get; set; } = [];

    protected override string CancelledMessage => "Image index cancelled; nothing was written.";

    protected override void Run(CancellationToken cancellationToken)
    {
        var platforms = PlatformImages.Select(i => PlatformImage.Parse(i.ItemSpec, i.GetMetadata("NixSystem"), i.GetMetadata("ImageDigest"))).ToList();
        SetOutputs(ImageJob.RunIndexAsync(RequestFile, Prepared, platforms, RegistrySettings, new MSBuildLog(Log), Environment.GetEnvironmentVariable, cancellationToken).GetAwaiter().GetResult());
    }
}
