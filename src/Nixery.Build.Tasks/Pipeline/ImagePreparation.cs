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
        return RequestFile.WriteIfChanged(request, requestFile, InputsKey(inputs, request));
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

    /// <summary>
    /// A digest of everything the request is made from: every input (all of <see cref="ImageInputs"/>' members, by
    /// reflection, so none is forgotten), what is on disk that the request names (package set, popularity file) and the
    /// engine. Null when nothing pins the package set: such a request is new every time.
    /// </summary>
    internal static string? InputsKey(ImageInputs inputs, ImageRequest request)
    {
        if (request.NixSourceIdentity is null)
        {
            return null;
        }

        var text = new System.Text.StringBuilder();
        foreach (var property in typeof(ImageInputs).GetProperties().OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            text.Append(property.Name).Append('=');
            Append(text, property.GetValue(inputs));
            text.Append('\n');
        }

        text.Append(request.NixSourceIdentity).Append('\n');
        text.Append(request.PopularityFile is { } popularity ? NixSourceIdentity.OfLocalPath(popularity) : string.Empty).Append('\n');
        text.Append(typeof(ImagePreparation).Assembly.ManifestModule.ModuleVersionId.ToString("N"));
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static void Append(System.Text.StringBuilder text, object? value)
    {
        switch (value)
        {
            case null:
                text.Append('\u0001');
                break;
            case string s:
                text.Append(s.Length).Append(':').Append(s);
                break;
            case KeyValuePair<string, string> pair:
                Append(text, pair.Key);
                Append(text, pair.Value);
                break;
            case System.Collections.IEnumerable list:
                text.Append('[');
                foreach (var item in list)
                {
                    Append(text, item);
                }

                text.Append(']');
                break;
            default:
                throw new InvalidOperationException($"ImageInputs has a member of type {value.GetType().Name}, which its key does not know.");
        }
    }
}
