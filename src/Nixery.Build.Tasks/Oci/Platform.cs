using System.Runtime.InteropServices;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Oci;

/// <summary>
/// The platform an image is for, in the three vocabularies that meet here:
/// the .NET runtime identifier, the Nix system double, and the OCI os/architecture/variant.
/// </summary>
public sealed record Platform(string NixSystem, string Os, string Architecture, string? Variant = null)
{
    private static readonly Platform[] Known =
    [
        new("x86_64-linux", "linux", "amd64"),
        new("aarch64-linux", "linux", "arm64", "v8"),
        new("armv7l-linux", "linux", "arm", "v7"),
        new("i686-linux", "linux", "386"),
        new("riscv64-linux", "linux", "riscv64"),
        new("powerpc64le-linux", "linux", "ppc64le"),
        new("s390x-linux", "linux", "s390x"),
    ];

    /// <summary>The platform of a Nix system double such as <c>x86_64-linux</c>.</summary>
    public static Platform FromNixSystem(string nixSystem) =>
        Known.FirstOrDefault(p => p.NixSystem == nixSystem)
        ?? throw new NixImageException(
            ErrorCodes.UnsupportedPlatform,
            $"NixSystem '{nixSystem}' is not a Linux system this package can build images for. "
            + $"Use one of: {string.Join(", ", Known.Select(p => p.NixSystem))}.");

    /// <summary>
    /// The platform of a .NET runtime identifier (<c>linux-x64</c>, <c>linux-musl-arm64</c>, ...);
    /// without one, the machine's own architecture.
    /// </summary>
    public static Platform FromRuntimeIdentifier(string? runtimeIdentifier)
    {
        if (string.IsNullOrEmpty(runtimeIdentifier))
        {
            return FromArchitecture(RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(), "(this machine)");
        }

        var dash = runtimeIdentifier.LastIndexOf('-');
        var os = dash < 0 ? runtimeIdentifier : runtimeIdentifier[..dash];
        if (dash < 0 || !(os == "linux" || os.StartsWith("linux-", StringComparison.Ordinal)))
        {
            throw new NixImageException(
                ErrorCodes.UnsupportedPlatform,
                $"RuntimeIdentifier '{runtimeIdentifier}' is not a Linux runtime; container images run Linux. "
                + "Publish with -r linux-x64 or -r linux-arm64.");
        }

        return FromArchitecture(runtimeIdentifier[(dash + 1)..], runtimeIdentifier);
    }

    private static Platform FromArchitecture(string dotnetArchitecture, string origin)
    {
        var nixSystem = dotnetArchitecture switch
        {
            "x64" => "x86_64-linux",
            "arm64" => "aarch64-linux",
            "arm" => "armv7l-linux",
            "x86" => "i686-linux",
            "riscv64" => "riscv64-linux",
            "ppc64le" => "powerpc64le-linux",
            "s390x" => "s390x-linux",
            _ => throw new NixImageException(
                ErrorCodes.UnsupportedPlatform,
                $"The architecture '{dotnetArchitecture}' of {origin} has no Nix system. Set NixSystem explicitly, e.g. x86_64-linux."),
        };
        return FromNixSystem(nixSystem);
    }
}
