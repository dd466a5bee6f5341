using Nixery.Build.LayerFormat;
using Nixery.Build.Oci;
using Nixery.Build.Streams;

namespace Nixery.Build.Sinks;

/// <summary>
/// Writes an image as one tar that every common tool reads: an OCI image layout
/// (<c>oci-layout</c>, <c>index.json</c>, <c>blobs/sha256/…</c>) for <c>skopeo oci-archive:</c> and
/// <c>podman load</c>, plus Docker's <c>manifest.json</c> over the same blobs for <c>docker load</c> and
/// <c>skopeo docker-archive:</c>. An image index (several platforms) is the entry of <c>index.json</c>; Docker's
/// <c>manifest.json</c>, which knows no platforms, lists each platform's image, the tags on the first. The file appears complete or not at all (temp file, then rename). It is a build
/// output like the compiler's: not forced to disk (fsync) before the rename, which cost a third of a warm build;
/// the cache, which outlives builds and is shared, is.
/// </summary>
public static class OciArchiveWriter
{
    public static void Write(ImageArtifact image, string repository, IReadOnlyList<string> tags, string archivePath, DateTimeOffset modificationTime, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(archivePath))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(archivePath)}.{Guid.NewGuid():N}.partial");
        try
        {
            using (var file = PartialFiles.Create(temporary))
            {
                WriteTo(file, image, repository, tags, modificationTime, cancellationToken);
                file.Flush(flushToDisk: false);
            }

            // The old archive goes first, then the new one takes its name: ext4 (auto_da_alloc) forces the data of a
            // file renamed over another to disk at the next journal commit, which made the next build's cache fsync
            // wait for this whole archive. A reader sees the old archive, none, or the new one: never part of one.
            File.Delete(archivePath);
            File.Move(temporary, archivePath);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>
    /// The archive's bytes, written to <paramref name="output"/> (left open): a file, or the standard input of
    /// <c>docker load</c>. Blobs are checked against their digests as they are copied (<see cref="DamagedBlobException"/>).
    /// </summary>
    public static void WriteTo(Stream output, ImageArtifact image, string repository, IReadOnlyList<string> tags, DateTimeOffset modificationTime, CancellationToken cancellationToken)
    {
        using var tar = new DeterministicTarWriter(output, modificationTime);
        WriteBytes(tar, "oci-layout", """{"imageLayoutVersion":"1.0.0"}"""u8.ToArray());
        WriteBytes(tar, "index.json", IndexJson(image, repository, tags));
        WriteBytes(tar, "manifest.json", DockerManifestJson(image, repository, tags));
        tar.WriteDirectory("blobs", UnixModes.Executable);
        tar.WriteDirectory("blobs/sha256", UnixModes.Executable);
        foreach (var blob in image.AllBlobs.OrderBy(b => b.Descriptor.Digest.Hex, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var content = BlobCheck.Reading(blob.Open(), blob.Descriptor);
            tar.WriteFile($"blobs/sha256/{blob.Descriptor.Digest.Hex}", UnixModes.Regular, blob.Descriptor.Size, content);
        }

        tar.Finish();
    }

    /// <summary>One image (no index): see <see cref="Write(ImageArtifact, string, IReadOnlyList{string}, string, DateTimeOffset, CancellationToken)"/>.</summary>
    public static void Write(BuiltImage image, string repository, IReadOnlyList<string> tags, string archivePath, DateTimeOffset modificationTime, CancellationToken cancellationToken) =>
        Write(ImageArtifact.Of(image), repository, tags, archivePath, modificationTime, cancellationToken);

    internal static byte[] IndexJson(ImageArtifact image, string repository, IReadOnlyList<string> tags) =>
        OciJson.Serialize(new ImageIndex(IndexEntries(image, repository, tags)));

    /// <summary>The image's manifest (or index) once per tag, annotated with the tag (OCI) and the full name (containerd).</summary>
    internal static IReadOnlyList<Descriptor> IndexEntries(ImageArtifact image, string repository, IReadOnlyList<string> tags) =>
        tags.Select(tag => image.Root.Descriptor with
        {
            Annotations = new Dictionary<string, string>
            {
                ["org.opencontainers.image.ref.name"] = tag,
                ["io.containerd.image.name"] = $"{repository}:{tag}",
            },
        }).ToList();

    internal static byte[] DockerManifestJson(ImageArtifact artifact, string repository, IReadOnlyList<string> tags) => OciJson.Write(w =>
    {
        w.WriteStartArray();
        for (var i = 0; i < artifact.Images.Count; i++)
        {
            var image = artifact.Images[i];
            w.WriteStartObject();
            w.WriteString("Config", $"blobs/sha256/{image.Config.Descriptor.Digest.Hex}");
            w.WriteStartArray("RepoTags");
            foreach (var tag in i == 0 ? tags : [])
            {
                w.WriteStringValue($"{repository}:{tag}");
            }

            w.WriteEndArray();
            w.WriteStartArray("Layers");
            foreach (var layer in image.Layers)
            {
                w.WriteStringValue($"blobs/sha256/{layer.Blob.Descriptor.Digest.Hex}");
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    private static void WriteBytes(DeterministicTarWriter tar, string name, byte[] content)
    {
        using var stream = new MemoryStream(content, writable: false);
        tar.WriteFile(name, UnixModes.Regular, content.Length, stream);
    }
}
