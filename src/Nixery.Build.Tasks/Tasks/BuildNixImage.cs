using Microsoft.Build.Framework;
using Nixery.Build.Diagnostics;
using Nixery.Build.Pipeline;

namespace Nixery.Build.Tasks;

/// <summary>
/// Builds the image that <see cref="PrepareNixImage"/> described: runs <see cref="ImageBuilder"/> on the request
/// file and turns its coded exceptions into MSBuild errors (<c>NIXIMG###</c>) without stack traces. With
/// <see cref="Registry"/> set it also pushes the image there, beside writing the archive.
/// </summary>
public sealed class BuildNixImage : CancelableNixTask
{
    [Required]
    public string RequestFile { get; set; } = string.Empty;

    /// <summary>Where to write the manifest digest, for the image target to read even when it is skipped.</summary>
    [Required]
    public string DigestFile { get; set; } = string.Empty;

    /// <summary>ContainerRegistry: push the image there too (connecting while the layers are built).</summary>
    public string? Registry { get; set; }

    /// <summary>ContainerInsecureRegistries: semicolon-separated host[:port].</summary>
    public string? InsecureRegistries { get; set; }

    /// <summary>NixImageRegistryTimeout: seconds.</summary>
    public string? RegistryTimeout { get; set; }

    [Output]
    public string? ImageDigest { get; set; }

    /// <summary>The references pushed (registry/repository:tag), semicolon-separated; empty when nothing was pushed.</summary>
    [Output]
    public string? PushedReferences { get; set; }

    [Output]
    public string? ArchivePath { get; set; }

    protected override string CancelledMessage => "Image build cancelled; nothing was written.";

    protected override void Run(CancellationToken cancellationToken)
    {
        var request = Pipeline.RequestFile.Read(RequestFile);
        var log = new MSBuildLog(Log);
        using var registry = string.IsNullOrWhiteSpace(Registry)
            ? null
            : new ImagePusher(log, Environment.GetEnvironmentVariable).Connect(request.Repository, request.Tags, Registry, InsecureRegistries, RegistryTimeout, request.LayerCacheDirectory, request.IntermediateDirectory, cancellationToken);
        var builder = new ImageBuilder(log, Environment.GetEnvironmentVariable("PATH"));
        var result = builder.BuildAsync(request, cancellationToken, registry).GetAwaiter().GetResult();
        ImageDigest = result.Image.Digest.Value;
        ArchivePath = result.ArchivePath;
        // Last, and whole or not at all: it is one of the image target's outputs, so a build killed before this
        // point is not taken as up to date next time.
        Archive.PartialFiles.WriteAllBytes(DigestFile, System.Text.Encoding.ASCII.GetBytes(ImageDigest));
        if (result.Pushed is { } pushed)
        {
            PushedReferences = string.Join(';', pushed.References);
        }
    }
}
