using Nixery.Build.Nix;

namespace Nixery.Build.Pipeline;

/// <summary>What <see cref="ImagePreparation.Prepare"/> did.</summary>
/// <param name="Request">The request, as written to the request file.</param>
/// <param name="ForgotMissingImage">Whether the last image's summary was deleted because the layer cache no longer holds that image.</param>
public sealed record PreparedImage(ImageRequest Request, bool ForgotMissingImage);

/// <summary>
/// The step before the image step: the request from the project's settings, with what the build's inputs on disk are
/// now (the publish folder, the package set), written to the request file only when it changed.
/// </summary>
public static class ImagePreparation
{
    public static PreparedImage Prepare(ImageInputs inputs, string requestFile, string? digestFile)
    {
        var request = ImageRequestFactory.Create(inputs);
        request = request with
        {
            PublishFolderFingerprint = PublishFolder.Fingerprint(request.PublishDirectory),
            NixSourceIdentity = NixSourceIdentity.Of(request.Source, inputs.NixPath),
        };
        LeftoverFiles.Remove(request);
        RequestFile.WriteIfChanged(request, requestFile);
        return new PreparedImage(request, !request.WriteArchive && ForgetImageMissingFromCache(request, digestFile));
    }

    /// <summary>
    /// With no archive, the image target's outputs are only its summary, and an up-to-date image is pushed from the
    /// layer cache. When the cache no longer holds that image (pruned, cleared), forget the summary so the image
    /// target runs again (from whatever is cached) instead of the push failing.
    /// </summary>
    private static bool ForgetImageMissingFromCache(ImageRequest request, string? digestFile)
    {
        var summary = request.SummaryPath;
        if (!File.Exists(summary))
        {
            return false;
        }

        if (digestFile is null || LastImage.FromCache(request.LayerCacheDirectory, digestFile) is null)
        {
            File.Delete(summary);
            return true;
        }

        return false;
    }
}
