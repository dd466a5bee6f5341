using Microsoft.Build.Framework;
using Nixery.Build.Pipeline;
using Nixery.Build.Settings;

namespace Nixery.Build.Tasks;

/// <summary>
/// What the two tasks that send an image to its destinations share (<see cref="BuildNixImage"/>,
/// <see cref="BuildNixImageIndex"/>): the request file, the registry settings, and the outputs.
/// </summary>
public abstract class ImageSinkTask : CancelableNixTask
{
    /// <summary>The request <see cref="PrepareNixImage"/> wrote.</summary>
    [Required]
    public string RequestFile { get; set; } = string.Empty;

    /// <summary>ContainerRegistry: push the image there too (connecting while the layers are built).</summary>
    public string? Registry { get; set; }

    /// <summary>ContainerInsecureRegistries: semicolon-separated host[:port].</summary>
    public string? InsecureRegistries { get; set; }

    /// <summary>NixImageRegistryTimeout: seconds.</summary>
    public string? RegistryTimeout { get; set; }

    /// <summary>What the tags point at: the image's manifest digest, or the index's.</summary>
    [Output]
    public string? ImageDigest { get; set; }

    /// <summary>The references pushed (registry/repository:tag), semicolon-separated; empty when nothing was pushed.</summary>
    [Output]
    public string? PushedReferences { get; set; }

    [Output]
    public string? ArchivePath { get; set; }

    /// <summary>
    /// The SBOM documents written beside the summary, one per format and platform, with metadata <c>Format</c>
    /// (CycloneDX, SPDX), <c>MediaType</c>, <c>Platform</c>, <c>Subject</c> (the image's manifest digest) and
    /// <c>Referrer</c> (the artifact manifest's digest).
    /// </summary>
    [Output]
    public ITaskItem[] SbomFiles { get; set; } = [];

    protected RegistrySettings? RegistrySettings =>
        string.IsNullOrWhiteSpace(Registry) ? null : new RegistrySettings(Registry, InsecureRegistries, RegistryTimeout);

    /// <summary>The request as PrepareNixImage handed it on in this build, if it did (spares parsing the file).</summary>
    protected PreparedRequest? Prepared =>
        BuildEngine4.GetRegisteredTaskObject(PrepareNixImage.PreparedRequestKey(RequestFile), RegisteredTaskObjectLifetime.Build) as PreparedRequest;

    protected void SetOutputs(ImageBuildResult result)
    {
        ImageDigest = result.Digest.Value;
        ArchivePath = result.ArchivePath;
        PushedReferences = string.Join(';', result.PushedReferences);
        SbomFiles = [.. result.Sboms.Select(f =>
        {
            var item = new Microsoft.Build.Utilities.TaskItem(f.Path);
            item.SetMetadata("Format", f.Format);
            item.SetMetadata("MediaType", f.MediaType);
            item.SetMetadata("Platform", f.Platform);
            item.SetMetadata("Subject", f.Subject.Value);
            item.SetMetadata("Referrer", f.Referrer.Value);
            return item;
        })];
    }
}
