using NuGet.Versioning;

namespace Nixery.Build.Image;

/// <summary>The host's roll-forward policies, least permissive first (the order the host's own code relies on).</summary>
public enum RollForward
{
    Disable,
    LatestPatch,
    Minor,
    LatestMinor,
    Major,
    LatestMajor,
}

/// <summary>
/// One framework the app asks for, as the .NET host (hostfxr) holds it once the runtimeconfig.json and the environment
/// are read: its name, the lowest version it takes, the roll-forward policy in effect and where that policy came from.
/// </summary>
/// <param name="VersionText">The version as written: with <see cref="RollForward.Disable"/> the host looks for a folder of exactly that name.</param>
/// <param name="ApplyPatches">The legacy <c>applyPatches</c>: false keeps the patch the search found instead of rolling to the latest one.</param>
/// <param name="PreferRelease">
/// A release version is first looked for among release versions only (pre-release ones only when no release one
/// fits); false for a pre-release reference, or when <c>DOTNET_ROLL_FORWARD_TO_PRERELEASE=1</c>.
/// </param>
/// <param name="PolicySource">Where <see cref="RollForward"/> came from, for messages (<c>the default</c>, <c>DOTNET_ROLL_FORWARD</c>, ...).</param>
public sealed record FrameworkReference(
    string Name,
    string VersionText,
    SemanticVersion Version,
    RollForward RollForward,
    bool ApplyPatches,
    bool PreferRelease,
    string PolicySource);

/// <summary>
/// The .NET host's framework resolution for one framework reference against the versions installed, as
/// dotnet/runtime's docs/design/features/framework-version-resolution.md describes it and hostfxr does it. Pure: the
/// versions are folder names, the answer is the folder chosen or none.
/// </summary>
public static class FrameworkResolution
{
    /// <summary>
    /// The folder (a version) the host would choose under <c>shared/&lt;name&gt;/</c> among <paramref name="installed"/>,
    /// or null when none fits and the app cannot start. Names that are not SemVer 2 versions are ignored, as the host ignores them.
    /// </summary>
    public static string? Resolve(FrameworkReference reference, IEnumerable<string> installed)
    {
        var folders = installed.ToList();

        // No roll forward at all: Disable, or LatestPatch with applyPatches=false on a release version. The host then
        // looks for the folder named as the version is written, and nothing else.
        if (reference.RollForward == RollForward.Disable
            || (reference.RollForward == RollForward.LatestPatch && !reference.ApplyPatches && !reference.Version.IsPrerelease))
        {
            return folders.Contains(reference.VersionText, StringComparer.Ordinal) ? reference.VersionText : null;
        }

        var versions = new List<(SemanticVersion Version, string Folder)>();
        foreach (var folder in folders)
        {
            if (SemanticVersion.TryParse(folder, out var version) && !versions.Any(v => v.Version == version))
            {
                versions.Add((version, folder));
            }
        }

        var best = (reference.PreferRelease ? Search(reference, versions, releaseOnly: true) : null)
            ?? Search(reference, versions, releaseOnly: false);
        return best is null ? null : versions.First(v => v.Version == best).Folder;
    }

    /// <summary>Whether a reference to <paramref name="reference"/>'s version may move to <paramref name="higher"/> (the host's compatibility range).</summary>
    public static bool AllowsRollTo(FrameworkReference reference, SemanticVersion higher) =>
        higher == reference.Version || reference.RollForward switch
        {
            RollForward.Disable => false,
            RollForward.LatestPatch => higher.Major == reference.Version.Major && higher.Minor == reference.Version.Minor,
            RollForward.Minor or RollForward.LatestMinor => higher.Major == reference.Version.Major,
            _ => true,
        };

    /// <summary>Parses a <c>rollForward</c> value as the host does (ignoring case); false for anything else.</summary>
    public static bool TryParse(string? value, out RollForward policy)
    {
        foreach (var candidate in Enum.GetValues<RollForward>())
        {
            if (string.Equals(value, candidate.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                policy = candidate;
                return true;
            }
        }

        policy = RollForward.Minor;
        return false;
    }

    /// <summary>
    /// The closest (or, for LatestMinor and LatestMajor, the highest) version at or above the reference that its policy
    /// allows, then, when that is a release version, the highest patch of its major.minor.
    /// </summary>
    private static SemanticVersion? Search(FrameworkReference reference, List<(SemanticVersion Version, string Folder)> versions, bool releaseOnly)
    {
        // The Latest* policies choose the highest; for LatestPatch the highest patch comes from the step below anyway.
        var highest = reference.RollForward is RollForward.LatestMinor or RollForward.LatestMajor;
        var candidates = versions.Select(v => v.Version)
            .Where(v => (!releaseOnly || !v.IsPrerelease) && v >= reference.Version && AllowsRollTo(reference, v))
            .ToList();
        if (candidates.Count == 0)
        {
            return null;
        }

        var best = highest ? candidates.Max()! : candidates.Min()!;
        if (best.IsPrerelease)
        {
            // A pre-release found this way is taken as it is: previews are not rolled forward to the latest one.
            return best;
        }

        // Roll to the latest patch of the chosen major.minor (with applyPatches=false, only within the same patch:
        // pre-release suffixes of it, which never sort above the release itself, so nothing moves).
        var from = best;
        foreach (var version in versions.Select(v => v.Version))
        {
            if ((!releaseOnly || !version.IsPrerelease)
                && (reference.ApplyPatches || version.Patch == from.Patch)
                && version >= from && version.Major == from.Major && version.Minor == from.Minor && version > best)
            {
                best = version;
            }
        }

        return best;
    }
}
