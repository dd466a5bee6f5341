using Microsoft.Build.Framework;
using Nixery.Build.Pipeline;

namespace Nixery.Build.Tasks;

/// <summary>
/// Runs the image pipeline on the request <see cref="PrepareNixImage"/> wrote: the pipeline decides whether the
/// image is up to date, builds what is not, and sends the image to every sink the request names, plus
/// <see cref="Registry"/> when set. Coded exceptions become MSBuild errors (<c>NIXIMG###</c>) without stack traces.
/// </summary>
public sealed class BuildNixImage : CancelableNixTask
{
    [Required]
    public string RequestFile { get; set; } = string.Empty;

    /// <summary>ContainerRegistry: push the image there too (connecting while the layers are built).</summary>
    public string? Registry { get; set; }

    /// <summary>ContainerInsecureRegistries: semicolon-separated host[:port].</summary>
    public string? InsecureRegistries { get; set; }

    /// <summary>NixImageRegistryTimeout: seconds.</summary>
    public string? RegistryTimeout { get; set; }

    /// <summary>One platform of a multi-platform publish: build into the layer cache only (<see cref="BuildNixImageIndex"/> writes the index).</summary>
    public bool PlatformOnly { get; set; }

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
        var registry = string.IsNullOrWhiteSpace(Registry) ? null : new RegistrySettings(Registry, InsecureRegistries, RegistryTimeout);
        var prepared = BuildEngine4.GetRegisteredTaskObject(PrepareNixImage.PreparedRequestKey(RequestFile), RegisteredTaskObjectLifetime.Build) as PreparedRequest;
        var result = ImageJob.RunAsync(RequestFile, prepared, registry, new MSBuildLog(Log), Environment.GetEnvironmentVariable, cancellationToken, PlatformOnly).GetAwaiter().GetResult();
        ImageDigest = result.Digest.Value;
        ArchivePath = result.ArchivePath;
        PushedReferences = string.Join(';', result.PushedReferences);
    }
}
