using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;
using Nixery.Build.Streams;

namespace Nixery.Build.Sinks;

/// <summary>The kinds of destination an image goes to.</summary>
public enum SinkKind
{
    Archive,
    Layout,
    Registry,
    Engine,
}

/// <summary>What a sink did with the image: the places it now is (an archive path, registry references, …).</summary>
/// <param name="Wrote">False when the destination already held exactly this image and nothing was written.</param>
public sealed record SinkResult(SinkKind Sink, IReadOnlyList<string> References, bool Wrote = true);

/// <summary>The names an image goes by in a destination: its repository and every tag.</summary>
public sealed record RepositoryTags(string Repository, IReadOnlyList<string> Tags)
{
    public IReadOnlyList<string> References => Tags.Select(t => $"{Repository}:{t}").ToList();
}

/// <summary>
/// A destination for a built image. Every sink takes the same <see cref="ImageArtifact"/> value (one image, or an
/// index of one image per platform), whether it was built now or found up to date in the layer cache; none builds
/// layers. Each is made with what it needs (where, under which names), not the whole request. Sinks read blobs with
/// their digests checked (<see cref="BlobCheck"/>), so a blob damaged on disk stops them with a
/// <see cref="DamagedBlobException"/> before anything that names it is written.
/// </summary>
public interface IImageSink
{
    SinkKind Kind { get; }

    /// <param name="upToDate">
    /// The pipeline's word that this destination got exactly this image from the last build and still holds it as
    /// far as the build can tell without asking it (for the archive: the file is the one the summary recorded). A sink
    /// that can check cheaply may still skip the write; one that cannot (a registry) sends what is missing anyway.
    /// </param>
    Task<SinkResult> WriteAsync(ImageArtifact image, bool upToDate, CancellationToken cancellationToken);
}

/// <summary>The image archive (ContainerArchiveOutputPath): written unless it is the very file the last build wrote for this image.</summary>
public sealed class ArchiveSink(string path, RepositoryTags names, DateTimeOffset created) : IImageSink
{
    public SinkKind Kind => SinkKind.Archive;

    /// <summary>The archive file, in full.</summary>
    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public Task<SinkResult> WriteAsync(ImageArtifact image, bool upToDate, CancellationToken cancellationToken)
    {
        if (upToDate)
        {
            return Task.FromResult(new SinkResult(Kind, [Path], Wrote: false));
        }

        try
        {
            OciArchiveWriter.Write(image, names.Repository, names.Tags, Path, created, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NixImageException(ErrorCodes.WriteFailed, $"The image archive '{Path}' could not be written: {e.Message} Check the folder's permissions and free space.", e);
        }

        return Task.FromResult(new SinkResult(Kind, [Path]));
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
public sealed class LayoutSink(string directory, RepositoryTags names, IBuildLog log) : IImageSink
{
    public SinkKind Kind => SinkKind.Layout;

    public Task<SinkResult> WriteAsync(ImageArtifact image, bool upToDate, CancellationToken cancellationToken)
    {
        var path = Path.GetFullPath(directory);
        try
        {
            var (copied, indexWritten) = OciLayoutWriter.Write(image, names.Repository, names.Tags, path, cancellationToken);
            log.Info($"OCI layout {path}: {string.Join(", ", names.Tags)} → {image.Digest} ({copied} blob(s) written, the rest were there{(indexWritten ? string.Empty : "; index.json unchanged")})");
            return Task.FromResult(new SinkResult(Kind, names.Tags.Select(t => $"{path}:{t}").ToList(), copied > 0 || indexWritten));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NixImageException(ErrorCodes.WriteFailed, $"The OCI layout folder '{path}' could not be written: {e.Message} Check NixImageOciLayoutPath, the folder's permissions and free space.", e);
        }
    }
}
