using Microsoft.Build.Framework;
using Nixery.Build.Diagnostics;
using Nixery.Build.Pipeline;

namespace Nixery.Build.Tasks;

/// <summary>
/// Pushes an image found up to date to ContainerRegistry (every tag), reading it from the archive, or from the
/// layer cache when no archive was written; or, with <see cref="CheckOnly"/>, only checks the registry settings,
/// before anything is built. (An image built now is pushed by <see cref="BuildNixImage"/>.)
/// </summary>
public sealed class PushNixImage : CancelableNixTask
{
    [Required]
    public string Registry { get; set; } = string.Empty;

    /// <summary>ContainerInsecureRegistries: semicolon-separated host[:port].</summary>
    public string? InsecureRegistries { get; set; }

    /// <summary>NixImageRegistryTimeout: seconds.</summary>
    public string? RegistryTimeout { get; set; }

    /// <summary>Check ContainerRegistry and the insecure lists, push nothing.</summary>
    public bool CheckOnly { get; set; }

    public string? RequestFile { get; set; }

    /// <summary>The archive to read the image from; empty: the layer cache, by <see cref="DigestFile"/>.</summary>
    public string? ArchivePath { get; set; }

    public string? DigestFile { get; set; }

    /// <summary>NixImageCacheDirectory (where pushes remember which repositories hold which blobs).</summary>
    public string? CacheDirectory { get; set; }

    [Required]
    public string ProjectDirectory { get; set; } = string.Empty;

    /// <summary>The references pushed (registry/repository:tag), semicolon-separated.</summary>
    [Output]
    public string? PushedReferences { get; set; }

    protected override string CancelledMessage => "Push cancelled; no tag was moved.";

    protected override void Run(CancellationToken cancellationToken)
    {
        var pusher = new ImagePusher(new MSBuildLog(Log), Environment.GetEnvironmentVariable);
        if (CheckOnly)
        {
            pusher.Check(Registry, InsecureRegistries, RegistryTimeout);
            return;
        }

        var result = pusher.PushAsync(RequestFile ?? string.Empty, ArchivePath, DigestFile, Registry, InsecureRegistries, RegistryTimeout, CacheDirectory, ProjectDirectory, cancellationToken).GetAwaiter().GetResult();
        PushedReferences = string.Join(';', result.References);
    }
}
