using System.Text.Json;
using Nixery.Build.Oci;
using Nixery.Build.Streams;

namespace Nixery.Build.Sinks;

/// <summary>
/// Writes an image into an OCI image layout directory (<c>oci-layout</c>, <c>index.json</c>, <c>blobs/sha256/…</c>),
/// as <c>skopeo … oci:DIR:TAG</c> and <c>umoci</c> read it. A blob already there with its size is not written
/// again; a new one is copied (checked against its digest) to a temporary file and renamed into place, so the folder
/// never holds a part of a blob under a blob's name. <c>index.json</c> is replaced whole, last, when it changes: it keeps the entries
/// of other images (other tag names) and points this image's tags at the new manifest.
/// </summary>
public static class OciLayoutWriter
{
    private const string RefName = "org.opencontainers.image.ref.name";

    /// <summary>Writes the image; returns how many blobs were copied (the rest were there already) and whether <c>index.json</c> changed.</summary>
    public static (int BlobsCopied, bool IndexWritten) Write(ImageArtifact image, string repository, IReadOnlyList<string> tags, string directory, CancellationToken cancellationToken)
    {
        var blobs = Path.Combine(directory, "blobs", "sha256");
        Directory.CreateDirectory(blobs);
        PartialFiles.RemoveAbandoned(blobs, ".*.partial");
        var copied = 0;
        foreach (var blob in image.AllBlobs.Concat(image.ReferrerBlobs))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var target = Path.Combine(blobs, blob.Descriptor.Digest.Hex);
            var present = new FileInfo(target);
            if (present.Exists && present.Length == blob.Descriptor.Size)
            {
                continue;
            }

            Copy(blob, target);
            copied++;
        }

        // Written only when they change: an unchanged publish writes nothing.
        PartialFiles.WriteIfChanged(Path.Combine(directory, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}"""u8);
        var index = Path.Combine(directory, "index.json");
        return (copied, PartialFiles.WriteIfChanged(index, IndexJson(image, repository, tags, index)));
    }

    private static void Copy(ImageBlob blob, string target)
    {
        var temporary = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.partial");
        try
        {
            using (var file = PartialFiles.Create(temporary))
            using (var content = BlobCheck.Reading(blob.Open(), blob.Descriptor))
            {
                content.CopyTo(file);
            }

            File.Move(temporary, target, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>
    /// The existing index's other entries (ordered by tag), then this image's tags, then its referrers (SBOMs: unnamed
    /// entries with an artifact type, as OCI 1.1 tools list them in a layout). An unnamed entry of an earlier build is
    /// kept only while the image it refers to is still named here: a rebuilt image's old SBOMs go with it.
    /// </summary>
    private static byte[] IndexJson(ImageArtifact image, string repository, IReadOnlyList<string> tags, string existingIndex)
    {
        var ours = OciArchiveWriter.IndexEntries(image, repository, tags);
        var existing = ExistingEntries(existingIndex);
        var named = existing
            .Where(d => d.Annotations?.GetValueOrDefault(RefName) is { } name && !tags.Contains(name, StringComparer.Ordinal))
            .OrderBy(d => d.Annotations![RefName], StringComparer.Ordinal)
            .ThenBy(d => d.Digest.Value, StringComparer.Ordinal)
            .ToList();
        var referrers = image.Referrers.Select(r => r.Descriptor).ToList();
        var directory = Path.GetDirectoryName(existingIndex)!;
        var live = named.Concat(ours).SelectMany(d => ImagesNamedBy(d, directory)).Concat(image.Images.Select(i => i.Digest)).ToHashSet();
        var unnamed = existing
            .Where(d => d.Annotations?.GetValueOrDefault(RefName) is null && !referrers.Any(r => r.Digest == d.Digest))
            .Where(d => d.ArtifactType is null || (SubjectOf(d, directory) is { } subject && live.Contains(subject)))
            .OrderBy(d => d.Digest.Value, StringComparer.Ordinal);
        return OciJson.Serialize(new ImageIndex([.. named, .. ours, .. unnamed, .. referrers]));
    }

    /// <summary>The manifest an entry names, and for an index the manifests it lists (read from the layout; none when unreadable).</summary>
    private static IEnumerable<Digest> ImagesNamedBy(Descriptor entry, string directory)
    {
        yield return entry.Digest;
        if (MediaTypes.IsIndex(entry.MediaType) && ReadDocument(directory, entry) is { } index)
        {
            using (index)
            {
                if (index.RootElement.TryGetProperty("manifests", out var manifests) && manifests.ValueKind == JsonValueKind.Array)
                {
                    foreach (var manifest in manifests.EnumerateArray().ToList())
                    {
                        if (manifest.TryGetProperty("digest", out var d) && Digest.TryParse(d.GetString() ?? string.Empty, out var digest))
                        {
                            yield return digest;
                        }
                    }
                }
            }
        }
    }

    /// <summary>The subject of the artifact manifest an entry names, or null.</summary>
    private static Digest? SubjectOf(Descriptor entry, string directory)
    {
        using var manifest = ReadDocument(directory, entry);
        return manifest is not null && manifest.RootElement.TryGetProperty("subject", out var subject) && subject.TryGetProperty("digest", out var d)
            && Digest.TryParse(d.GetString() ?? string.Empty, out var digest)
            ? digest
            : null;
    }

    /// <summary>A manifest or index of the layout, parsed; null when absent, over 4 MiB or not JSON.</summary>
    private static JsonDocument? ReadDocument(string directory, Descriptor entry)
    {
        var file = new FileInfo(Path.Combine(directory, "blobs", "sha256", entry.Digest.Hex));
        try
        {
            return file.Exists && file.Length <= 4 << 20 ? JsonDocument.Parse(File.ReadAllBytes(file.FullName)) : null;
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return null;
        }
    }

    /// <summary>The manifests an index.json already lists, with their annotations; none when there is none or it is unreadable.</summary>
    private static List<Descriptor> ExistingEntries(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return [.. OciDocuments.IndexEntries(document.RootElement)];
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return [];
        }
    }
}
