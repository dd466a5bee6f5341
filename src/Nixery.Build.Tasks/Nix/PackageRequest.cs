using System.Text.RegularExpressions;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Nix;

/// <summary>Which output of a package the image takes.</summary>
public enum PackageOutput
{
    /// <summary>What the attribute names, as Nixery does: its first output (openssl's <c>bin</c>, with the tool).</summary>
    Default,

    /// <summary>Its libraries, as nixpkgs' <c>lib.getLib</c> chooses: the <c>lib</c> output when it has one, else <c>out</c>.</summary>
    Library,
}

/// <summary>A package name to resolve and the setting it came from (for error messages).</summary>
public sealed record PackageRequest(string Name, string Origin)
{
    /// <summary>The setting whose packages the app's own ELF files link to.</summary>
    public const string AppHostOrigin = "NixAppHostPackages";

    /// <summary>App-host packages are there for their libraries; every other package for what its attribute names.</summary>
    public PackageOutput Output => OutputOf(Origin);

    public static PackageOutput OutputOf(string origin) => origin == AppHostOrigin ? PackageOutput.Library : PackageOutput.Default;
}

/// <summary>Nixery's conventions for the package list of an image.</summary>
public static partial class PackageNames
{
    /// <summary>The meta-package <c>shell</c> stands for these (as in Nixery).</summary>
    public static readonly IReadOnlyList<string> ShellPackages = ["bashInteractive", "coreutils", "moreutils", "nano"];

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_'+-]*(\\.[A-Za-z0-9_][A-Za-z0-9_'+-]*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex AttributePath();

    /// <summary>
    /// Validates names, expands <c>shell</c>, and removes duplicates (the first origin wins among requests for the
    /// same output: <c>openssl</c> as a NixPackage and as an app-host package are two requests, for its tool and its
    /// libraries). The result is sorted ordinally, so the order of items in a project never changes the image.
    /// </summary>
    public static IReadOnlyList<PackageRequest> Normalize(IEnumerable<PackageRequest> requests)
    {
        var byName = new Dictionary<(string Name, PackageOutput Output), PackageRequest>();
        var invalid = new List<string>();
        foreach (var request in requests)
        {
            // An empty name is reported like any other invalid one, not dropped: the lists the task
            // splits never yield one, so it can only be a mistake of the caller.
            var name = request.Name.Trim();
            if (!AttributePath().IsMatch(name))
            {
                invalid.Add($"'{name}' ({request.Origin})");
                continue;
            }

            IEnumerable<string> expanded = name == "shell" ? ShellPackages : [name];
            foreach (var one in expanded)
            {
                byName.TryAdd((one, request.Output), request with { Name = one });
            }
        }

        if (invalid.Count > 0)
        {
            throw new NixImageException(
                ErrorCodes.InvalidPackageName,
                $"Not a Nix attribute path: {string.Join(", ", invalid)}. "
                + "Use dotted attribute names such as 'jq' or 'xorg.xev'.");
        }

        return byName.Values.OrderBy(r => r.Name, StringComparer.Ordinal).ThenBy(r => r.Output).ToList();
    }
}
