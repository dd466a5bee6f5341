using Microsoft.Build.Framework;
using Nixery.Build.Diagnostics;
using Nixery.Build.Pipeline;

namespace Nixery.Build.Tasks;

/// <summary>
/// Builds the image that <see cref="PrepareNixImage"/> described: runs <see cref="ImageBuilder"/> on the request
/// file and turns its coded exceptions into MSBuild errors (<c>NIXIMG###</c>) without stack traces. With
/// <see cref="Registry"/> set it also pushes the image there, beside writing the archive.
/// </summary>
public sealed class BuildNixImage : Microsoft.Build.Utilities.Task, ICancelableTask
{
    // Tasks are never disposed; the source lives for one Execute and cancelling after that is harmless.
    private volatile CancellationTokenSource? _cancel;

    [Required]
    public string RequestFile { get; set; } = string.Empty;

    /// <summary>Where to write the manifest digest, for the image target to read even when it is skipped.</summary>
    [Required]
    public string DigestFile { get; set; } = string.Empty;

    /// <summary>ContainerRegistry: push the image there too (connecting while the layers are built).</summary>
    public string? Registry { get; set; }

    /// <summary>ContainerInsecureRegistries: semicolon-separated host[:port].</summary>
    public string? InsecureRegistries { get; set; }

    [Output]
    public string? ImageDigest { get; set; }

    /// <summary>The references pushed (registry/repository:tag), semicolon-separated; empty when nothing was pushed.</summary>
    [Output]
    public string? PushedReferences { get; set; }

    [Output]
    public string? ArchivePath { get; set; }

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
            var request = Pipeline.RequestFile.Read(RequestFile);
            var log = new MSBuildLog(Log);
            using var registry = string.IsNullOrWhiteSpace(Registry)
                ? null
                : new ImagePusher(log, Environment.GetEnvironmentVariable).Connect(request.Repository, request.Tags, Registry, InsecureRegistries, request.CacheDirectory, request.IntermediateDirectory, cancel.Token);
            var builder = new ImageBuilder(log, Environment.GetEnvironmentVariable("PATH"));
            var result = builder.BuildAsync(request, cancel.Token, registry).GetAwaiter().GetResult();
            ImageDigest = result.Image.Digest.Value;
            ArchivePath = result.ArchivePath;
            File.WriteAllText(DigestFile, ImageDigest);
            if (result.Push is { } push)
            {
                PushedReferences = string.Join(';', push.GetAwaiter().GetResult().References);
            }
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
}
