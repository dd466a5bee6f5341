using Nixery.Build.Nix;
using Nixery.Build.Settings;

namespace Nixery.Build.Pipeline;

/// <summary>
/// The step before the image step: the request from the project's settings, with the package set's identity as it
/// is now, written to the request file only when it changed; and what killed builds left behind removed.
/// </summary>
public static class ImagePreparation
{
    /// <param name="inputs">What <paramref name="request"/> was made from (<see cref="ImageRequestFactory.Create"/>), for the request file's key.</param>
    public static PreparedRequest Prepare(ImageInputs inputs, ImageRequest request, string requestFile)
    {
        // The publish folder is not part of the request: the image step hashes it itself when it decides whether the
        // image is up to date, so a code change leaves the request file as it is.
        request = WithClosureMode(request, inputs);
        LeftoverFiles.Remove(request);
        return RequestFile.WriteIfChanged(request, requestFile, ImageFreshness.RequestKey(inputs, request));
    }

    /// <summary>
    /// NixMode=Auto made definite (Nix when <c>nix-store</c> is on the build's PATH), and the identity of what decides
    /// the closure: the package set's (Nix), or the lock file's bytes (Lock).
    /// </summary>
    internal static ImageRequest WithClosureMode(ImageRequest request, ImageInputs inputs)
    {
        var mode = request.NixMode != NixMode.Auto ? request.NixMode
            : !NixClient.IsOnPath(inputs.PathVariable) ? NixMode.Lock
            : NixMode.Nix;
        if (mode == NixMode.Lock)
        {
            var identity = File.Exists(request.LockFile)
                ? "lock " + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(request.LockFile)))
                : null;
            return request with { NixMode = mode, NixSourceIdentity = identity };
        }

        return request with { NixMode = mode, NixSourceIdentity = NixSourceIdentity.Of(request.Source, inputs.NixPath) };
    }
}
