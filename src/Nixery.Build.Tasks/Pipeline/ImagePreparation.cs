using Nixery.Build.Nix;

namespace Nixery.Build.Pipeline;

/// <summary>
/// The step before the image step: the request from the project's settings, with what the build's inputs on disk are
/// now (the publish folder, the package set), written to the request file only when it changed; and what killed
/// builds left behind removed.
/// </summary>
public static class ImagePreparation
{
    public static PreparedRequest Prepare(ImageInputs inputs, string requestFile)
    {
        var request = ImageRequestFactory.Create(inputs);
        request = request with
        {
            PublishFolderFingerprint = PublishFolder.Fingerprint(request.PublishDirectory),
            NixSourceIdentity = NixSourceIdentity.Of(request.Source, inputs.NixPath),
        };
        LeftoverFiles.Remove(request);
        return RequestFile.WriteIfChanged(request, requestFile);
    }
}
