using Nixery.Build.Oci;
using Nixery.Build.Settings;
using Nixery.Build.Streams;

namespace Nixery.Build.Pipeline;

/// <summary>An SBOM document of the image, written as a file beside the build summary (for CI steps that upload it elsewhere).</summary>
/// <param name="Path">The file.</param>
/// <param name="MediaType">Its format: <see cref="MediaTypes.CycloneDxJson"/> or <see cref="MediaTypes.SpdxJson"/>.</param>
/// <param name="Platform">The platform's image it describes (<c>linux/amd64</c>).</param>
/// <param name="Subject">That image's manifest digest.</param>
/// <param name="Referrer">The digest of the artifact manifest that attaches it to the image in registries and layouts.</param>
public sealed record SbomFile(string Path, string MediaType, string Platform, Digest Subject, Digest Referrer)
{
    /// <summary>The format's name, as NixImageSbom spells it.</summary>
    public string Format => MediaType == MediaTypes.CycloneDxJson ? "CycloneDX" : "SPDX";
}

/// <summary>
/// Writes every image's SBOM documents beside the summary: <c>&lt;name&gt;.cdx.json</c> and <c>&lt;name&gt;.spdx.json</c>,
/// with the platform in the name for an index (<c>&lt;name&gt;.linux-arm64.cdx.json</c>). A file that already holds the
/// document is not written again (an unchanged publish writes nothing; a deleted one comes back); documents of an
/// earlier build that this one has not (SBOMs turned off, a platform dropped) are removed.
/// </summary>
internal static class SbomFiles
{
    public static IReadOnlyList<SbomFile> Write(ImageRequest request, ImageArtifact artifact)
    {
        var stem = Path.ChangeExtension(Path.GetFullPath(request.SummaryPath), null);
        var files = new List<SbomFile>();
        foreach (var image in artifact.Images)
        {
            var platform = image.Manifest.Descriptor.Platform ?? request.Platform;
            var name = platform.Os + "/" + platform.Architecture + (platform.Variant is { } v ? "/" + v : string.Empty);
            foreach (var referrer in image.Referrers)
            {
                var path = stem + (artifact.IsIndex ? "." + name.Replace('/', '-') : string.Empty) + (referrer.ArtifactType == MediaTypes.CycloneDxJson ? ".cdx.json" : ".spdx.json");
                PartialFiles.WriteIfChanged(path, Read(referrer.Document));
                files.Add(new SbomFile(path, referrer.ArtifactType, name, image.Digest, referrer.Manifest.Descriptor.Digest));
            }
        }

        RemoveOthers(stem, files);
        return files;
    }

    private static byte[] Read(ImageBlob document)
    {
        using var content = BlobCheck.Reading(document.Open(), document.Descriptor);
        using var buffer = new MemoryStream();
        content.CopyTo(buffer);
        return buffer.ToArray();
    }

    private static void RemoveOthers(string stem, List<SbomFile> kept)
    {
        var folder = Path.GetDirectoryName(stem)!;
        if (!Directory.Exists(folder))
        {
            return;
        }

        foreach (var file in Directory.EnumerateFiles(folder, Path.GetFileName(stem) + ".*.json"))
        {
            if ((file.EndsWith(".cdx.json", StringComparison.Ordinal) || file.EndsWith(".spdx.json", StringComparison.Ordinal))
                && !kept.Any(k => k.Path == file))
            {
                File.Delete(file);
            }
        }
    }
}
