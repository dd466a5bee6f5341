using Nixery.Build.Archive;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;

namespace Nixery.Build.Pipeline;

/// <summary>What a sink did with the image: the places it now is (an archive path, registry references, …).</summary>
/// <param name="Wrote">False when the destination already held exactly this image and nothing was written.</param>
public sealed record SinkResult(string Sink, IReadOnlyList<string> References, bool Wrote = true);

/// <summary>
/// A destination for a built image. Every sink takes the same <see cref="ImageArtifact"/> value (one image, or an
/// index of one image per platform), whether it was built now or found up to date in the layer cache; none builds layers. Sinks read blobs with their digests checked
/// (<see cref="BlobCheck"/>), so a blob damaged on disk stops them with a <see cref="DamagedBlobException"/> before
/// anything that names it is written.
/// </summary>
public interface IImageSink
{
    Task<SinkResult> WriteAsync(ImageArtifact image, ImageRun run, CancellationToken cancellationToken);
}

/// <summary>What the pipeline knows when the sinks run.</summary>
/// <param name="UpToDate">Nothing that decides the image changed since <paramref name="Previous"/> was written.</param>
public sealed record ImageRun(ImageRequest Request, bool UpToDate, BuildSummary? Previous);

/// <summary>The image archive (ContainerArchiveOutputPath): written unless it is the very file the last build wrote for this image.</summary>
public sealed class ArchiveSink : IImageSink
{
    public Task<SinkResult> WriteAsync(ImageArtifact image, ImageRun run, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(run.Request.ArchivePath);
        if (run.UpToDate && run.Previous?.ArchiveIsIntact(path) == true)
        {
            return Task.FromResult(new SinkResult("archive", [path], Wrote: false));
        }

        try
        {
            OciArchiveWriter.Write(image, run.Request.Repository, run.Request.Tags, path, run.Request.Created, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NixImageException(ErrorCodes.WriteFailed, $"The image archive '{path}' could not be written: {e.Message} Check the folder's permissions and free space.", e);
        }

        return Task.FromResult(new SinkResult("archive", [path]));
    }

    /// <summary>
    /// With no archive to write (the image goes to a registry only), an archive of an earlier build beside a summary
    /// that says there is none would be taken for this image: it goes.
    /// </summary>
    public static void RemoveStale(string archivePath, IBuildLog log)
    {
        if (File.Exists(archivePath))
        {
            File.Delete(archivePath);
            log.Info($"Removed the archive of an earlier build, {archivePath}: this build pushes instead (set ContainerArchiveOutputPath to get both)");
        }
    }
}

/// <summary>An OCI image layout directory (NixImageOciLayoutPath): blobs already there are not written again.</summary>
public sealed class LayoutSink(string directory, IBuildLog log) : IImageSink
{
    public Task<SinkResult> WriteAsync(ImageArtifact image, ImageRun run, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(directory);
        try
        {
            var copied = OciLayoutWriter.Write(image, run.Request.Repository, run.Request.Tags, path, cancellationToken);
            log.Info($"OCI layout {path}: {string.Join(", ", run.Request.Tags)} → {image.Digest} ({copied} blob(s) written, the rest were there)");
            return Task.FromResult(new SinkResult("layout", run.Request.Tags.Select(t => $"{path}:{t}").ToList(), copied > 0));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NixImageException(ErrorCodes.WriteFailed, $"The OCI layout folder '{path}' could not be written: {e.Message} Check NixImageOciLayoutPath, the folder's permissions and free space.", e);
        }
    }
}
