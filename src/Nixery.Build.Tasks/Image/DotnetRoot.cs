using Nixery.Build.Diagnostics;
using Nixery.Build.Layers;
using Nixery.Build.Nix;

namespace Nixery.Build.Image;

/// <summary>Where a Nix .NET runtime package keeps its host: the folder holding <c>host/fxr</c>, which DOTNET_ROOT must name.</summary>
public static class DotnetRoot
{
    /// <summary>Layouts seen in package sets: nixpkgs' <c>share/dotnet</c>, <c>lib/dotnet</c>, or the package root.</summary>
    private static readonly string[] Candidates = ["share/dotnet", "lib/dotnet", string.Empty];

    public static string Find(ResolvedPackage runtime, IStoreView store)
    {
        foreach (var candidate in Candidates)
        {
            var root = candidate.Length == 0 ? runtime.StorePath : runtime.StorePath + "/" + candidate;
            if (store.IsFolder(root + "/host/fxr"))
            {
                return root;
            }
        }

        throw new NixImageException(
            ErrorCodes.DotnetRuntimeLayout,
            $"The .NET runtime package '{runtime.AttributePath}' ({runtime.StorePath}) has no host/fxr folder in {string.Join(", ", Candidates.Select(c => c.Length == 0 ? "its root" : c))}. "
            + "Set NixDotnetRuntimePackage to a package that contains the .NET runtime, or to none for a self-contained app.");
    }
}
