using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Nixery.Build.Cache;
using Nixery.Build.Oci;
using Nixery.Build.Settings;
using Nixery.Build.Sources;
using Nixery.Build.Streams;

namespace Nixery.Build.Pipeline;

/// <summary>
/// The build summary beside the archive (<see cref="ImageRequest.SummaryPath"/>): what the last build made, for the
/// user and the tests, and what <see cref="ImageFreshness"/> needs to tell next time that nothing changed: the digest
/// of everything that decided the image (<see cref="Inputs"/>) and the archive file as it was written.
/// </summary>
public sealed record BuildSummary(string Inputs, Digest ManifestDigest, string? Archive, long ArchiveSize, long ArchiveModified)
{
    /// <summary>The summary the last build left, or null when there is none or it cannot be read (then nothing is up to date).</summary>
    public static BuildSummary? TryRead(string path)
    {
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            if (!root.TryGetProperty("inputs", out var inputs) || inputs.GetString() is not { } text
                || !Digest.TryParse(root.GetProperty("manifestDigest").GetString() ?? string.Empty, out var digest))
            {
                return null;
            }

            var archive = root.TryGetProperty("archive", out var a) ? a.GetString() : null;
            var file = root.TryGetProperty("archiveFile", out var f) && f.ValueKind == JsonValueKind.Object ? f : default;
            return new BuildSummary(
                text,
                digest,
                archive,
                file.ValueKind == JsonValueKind.Object ? file.GetProperty("size").GetInt64() : -1,
                file.ValueKind == JsonValueKind.Object ? file.GetProperty("modified").GetInt64() : -1);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Whether the archive this summary recorded is still the file it wrote (same path, size and time).</summary>
    public bool ArchiveIsIntact(string archivePath)
    {
        var file = new FileInfo(archivePath);
        return Archive is not null && string.Equals(Path.GetFullPath(archivePath), Archive, StringComparison.Ordinal)
            && file.Exists && file.Length == ArchiveSize && file.LastWriteTimeUtc.Ticks == ArchiveModified;
    }

    /// <summary>Writes the summary of a build (atomically) and returns its path.</summary>
    /// <param name="nixReused">Whether the Nix closure was reused; null for an index (its platforms' own summaries say).</param>
    internal static string Write(ImageRequest request, string inputs, ImageArtifact artifact, IReadOnlyList<SbomFile> sboms, bool? nixReused, CacheCounters counters)
    {
        var summaryPath = request.SummaryPath;
        var archive = request.WriteArchive ? new FileInfo(Path.GetFullPath(request.ArchivePath)) : null;
        var json = OciJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("repository", request.Repository);
            w.WriteStartArray("tags");
            foreach (var tag in request.Tags)
            {
                w.WriteStringValue(tag);
            }

            w.WriteEndArray();
            w.WriteString("manifestDigest", artifact.Digest.Value);
            if (!artifact.IsIndex)
            {
                w.WriteString("configDigest", artifact.Images[0].Config.Descriptor.Digest.Value);
            }
            if (archive is not null)
            {
                w.WriteString("archive", archive.FullName);
                w.WriteStartObject("archiveFile");
                w.WriteNumber("size", archive.Exists ? archive.Length : -1);
                w.WriteNumber("modified", archive.Exists ? archive.LastWriteTimeUtc.Ticks : -1);
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("archive");
            }

            w.WriteString("inputs", inputs);
            w.WriteStartArray("sboms");
            foreach (var sbom in sboms)
            {
                w.WriteStartObject();
                w.WriteString("format", sbom.Format);
                w.WriteString("mediaType", sbom.MediaType);
                w.WriteString("platform", sbom.Platform);
                w.WriteString("file", sbom.Path);
                w.WriteString("subject", sbom.Subject.Value);
                w.WriteString("referrer", sbom.Referrer.Value);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (artifact.IsIndex)
            {
                w.WriteString("mediaType", artifact.Root.Descriptor.MediaType);
                w.WriteStartArray("platforms");
                foreach (var image in artifact.Images)
                {
                    w.WriteStartObject();
                    w.WriteString("platform", image.Manifest.Descriptor.Platform is { } p ? $"{p.Os}/{p.Architecture}{(p.Variant is null ? string.Empty : "/" + p.Variant)}" : string.Empty);
                    w.WriteString("manifestDigest", image.Digest.Value);
                    w.WriteString("configDigest", image.Config.Descriptor.Digest.Value);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
                return;
            }

            w.WriteStartObject("build");
            w.WriteBoolean("nixRun", nixReused != true);
            w.WriteNumber("layersBuilt", counters.Misses);
            w.WriteNumber("layersReused", counters.Hits);
            w.WriteNumber("layersRepaired", counters.Repaired);
            w.WriteEndObject();
            w.WriteStartArray("layers");
            foreach (var layer in artifact.Images[0].Layers)
            {
                w.WriteStartObject();
                w.WriteString("digest", layer.Blob.Descriptor.Digest.Value);
                w.WriteString("diffId", layer.DiffId.Value);
                w.WriteNumber("size", layer.Blob.Descriptor.Size);
                w.WriteString("holds", layer.Description);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
        PartialFiles.WriteAllBytes(summaryPath, json);
        return summaryPath;
    }
}
