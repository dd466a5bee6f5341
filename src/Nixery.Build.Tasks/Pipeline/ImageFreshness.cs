using Nixery.Build.Settings;
using Nixery.Build.Sinks;

namespace Nixery.Build.Pipeline;

/// <summary>
/// Whether the image (or index) is the one the last build made, and whether each destination still holds it as far
/// as the build can tell: decided once per run from <see cref="BuildSummary.InputsOf(ImageRequest, byte[], Oci.Digest?)"/>
/// against the last summary, and asked by every sink.
/// </summary>
/// <param name="Inputs">The digest of everything that decides the image this time.</param>
/// <param name="Previous">The last build's summary, if it can be read.</param>
public sealed record ImageFreshness(string Inputs, BuildSummary? Previous, bool UpToDate)
{
    /// <summary>Up to date when the last summary was made from the same inputs.</summary>
    public static ImageFreshness Of(ImageRequest request, string inputs)
    {
        var previous = BuildSummary.TryRead(request.SummaryPath);
        return new ImageFreshness(inputs, previous, previous is not null && previous.Inputs == inputs);
    }

    /// <summary>The same inputs, with the image to be built again (its blobs are gone, or one was found damaged).</summary>
    public ImageFreshness Rebuilt() => this with { UpToDate = false };

    /// <summary>
    /// Whether <paramref name="sink"/>'s destination holds this image: an archive only when it is still the file the
    /// summary recorded; other destinations when the image is up to date (each may still check for itself).
    /// </summary>
    public bool IsUpToDate(IImageSink sink) =>
        UpToDate && (sink is not ArchiveSink archive || Previous?.ArchiveIsIntact(archive.Path) == true);
}
