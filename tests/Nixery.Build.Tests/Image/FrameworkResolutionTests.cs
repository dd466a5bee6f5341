using Nixery.Build.Image;
using NuGet.Versioning;

namespace Nixery.Build.Tests.Image;

/// <summary>
/// The host's framework resolution, case by case: the policies of dotnet/runtime's framework-version-resolution.md
/// and the pre-release rules its examples give. "-" as the expected answer means the app could not start.
/// </summary>
public sealed class FrameworkResolutionTests
{
    [Theory]
    // Disable: the exact version or nothing, even with later patches around (and the folder named as written).
    [InlineData("10.0.0", "Disable", "10.0.0 10.0.12", "10.0.0")]
    [InlineData("10.0.0", "Disable", "10.0.12", "-")]
    [InlineData("10.0.0", "Disable", "10.0.1 10.1.0 11.0.0", "-")]
    [InlineData("10.0.0-rc.1", "Disable", "10.0.0-rc.1 10.0.0-rc.2", "10.0.0-rc.1")]
    [InlineData("10.0.0-rc.1", "Disable", "10.0.0-rc.2 10.0.0", "-")]
    // LatestPatch: the highest patch of the same major.minor, never another minor.
    [InlineData("10.0.0", "LatestPatch", "10.0.3 10.0.12 10.0.5", "10.0.12")]
    [InlineData("10.0.4", "LatestPatch", "10.0.3 10.0.4", "10.0.4")]
    [InlineData("10.0.4", "LatestPatch", "10.0.3", "-")]
    [InlineData("10.0.0", "LatestPatch", "10.1.0 11.0.0", "-")]
    // Minor (the default): the requested minor's highest patch when it is there, else the lowest later minor's.
    [InlineData("10.0.0", "Minor", "10.0.12", "10.0.12")]
    [InlineData("10.0.0", "Minor", "10.0.1 10.0.2 10.1.0", "10.0.2")]
    [InlineData("10.0.0", "Minor", "10.2.1 10.1.0 10.1.7 10.3.0", "10.1.7")]
    [InlineData("10.0.99", "Minor", "10.0.12", "-")]
    [InlineData("10.0.0", "Minor", "11.0.0 9.0.5", "-")]
    [InlineData("10.0.0", "minor", "10.0.12", "10.0.12")]
    // LatestMinor: the highest minor of the same major, then its highest patch, even with the requested minor present.
    [InlineData("10.0.0", "LatestMinor", "10.0.1 10.1.0 10.2.3 10.2.1 11.0.0", "10.2.3")]
    [InlineData("10.0.0", "LatestMinor", "11.0.0", "-")]
    // Major: the requested major when present (as Minor), else the lowest later major's lowest minor, highest patch.
    [InlineData("10.0.0", "Major", "10.0.5 11.0.0", "10.0.5")]
    [InlineData("10.0.0", "Major", "12.0.1 11.1.0 11.0.2 11.0.4", "11.0.4")]
    [InlineData("10.0.99", "Major", "10.0.12 11.0.0", "11.0.0")]
    [InlineData("10.0.0", "Major", "9.0.9", "-")]
    // LatestMajor: the highest version there is.
    [InlineData("10.0.0", "LatestMajor", "10.0.12 11.0.1 12.0.0 12.0.3", "12.0.3")]
    [InlineData("10.0.0", "LatestMajor", "10.0.12", "10.0.12")]
    [InlineData("10.0.99", "LatestMajor", "10.0.12", "-")]
    // A release reference prefers release versions; a pre-release is taken only when no release fits.
    [InlineData("10.0.0", "Minor", "10.0.1-preview.1 10.1.0", "10.1.0")]
    [InlineData("10.0.0", "Minor", "10.0.0 10.0.1-preview.1", "10.0.0")]
    [InlineData("10.0.0", "Minor", "10.0.1-preview.1", "10.0.1-preview.1")]
    [InlineData("10.0.0", "LatestPatch", "10.0.1-preview.1", "10.0.1-preview.1")]
    [InlineData("10.0.0", "LatestMajor", "10.0.12 11.0.1-preview.1", "10.0.12")]
    [InlineData("10.0.0", "Major", "11.0.0-rc.1 11.0.0-rc.2", "11.0.0-rc.1")]
    // A release never runs on its own pre-release: that would be a downgrade.
    [InlineData("10.0.0", "LatestMajor", "10.0.0-rc.2", "-")]
    // A pre-release reference considers both; a pre-release it finds is not rolled to a later one or a later patch.
    [InlineData("10.0.0-preview.2", "Minor", "10.0.0-preview.2 10.0.0-preview.3 10.0.1-preview.1", "10.0.0-preview.2")]
    [InlineData("10.0.0-preview.1", "Minor", "10.0.0-preview.2 10.0.0-preview.3", "10.0.0-preview.2")]
    [InlineData("10.0.0-preview.1", "Minor", "10.0.0", "10.0.0")]
    [InlineData("10.0.0-preview.1", "Minor", "10.0.0 10.0.3", "10.0.3")]
    [InlineData("10.0.0-preview.1", "Minor", "10.0.1-preview.1", "10.0.1-preview.1")]
    [InlineData("10.0.0-preview.1", "Minor", "10.1.0-preview.1", "10.1.0-preview.1")]
    [InlineData("10.0.0-preview.1", "Minor", "11.0.0", "-")]
    [InlineData("10.0.0-preview.1", "Major", "11.0.0", "11.0.0")]
    // Folder names that are not versions are not frameworks; semantic order, not ordinal (10.0.9 < 10.0.12).
    [InlineData("10.0.0", "Minor", "current 10.0.9 10.0.12 10.0", "10.0.12")]
    [InlineData("10.0.0", "Minor", "", "-")]
    public void PolicyChoosesAsTheHostDoes(string requested, string policy, string installed, string expected)
    {
        Assert.True(FrameworkResolution.TryParse(policy, out var rollForward));
        var chosen = FrameworkResolution.Resolve(Reference(requested, rollForward), Versions(installed));
        Assert.Equal(expected, chosen ?? "-");
    }

    [Theory]
    // With DOTNET_ROLL_FORWARD_TO_PRERELEASE=1 a release reference treats pre-releases as releases: closer ones win.
    [InlineData("10.0.0", "Minor", "10.0.0 10.0.1-preview.1", "10.0.1-preview.1")]
    [InlineData("10.0.0", "Minor", "10.0.1-preview.1 10.1.0", "10.0.1-preview.1")]
    [InlineData("10.0.0", "LatestMajor", "10.0.12 11.0.1-preview.1", "11.0.1-preview.1")]
    [InlineData("10.0.0", "LatestMajor", "10.0.0-rc.2", "-")]
    public void RollForwardToPrereleaseTreatsPrereleasesAsReleases(string requested, string policy, string installed, string expected)
    {
        Assert.True(FrameworkResolution.TryParse(policy, out var rollForward));
        var reference = Reference(requested, rollForward) with { PreferRelease = false };
        Assert.Equal(expected, FrameworkResolution.Resolve(reference, Versions(installed)) ?? "-");
    }

    [Theory]
    // Legacy applyPatches=false: LatestPatch (rollForwardOnNoCandidateFx=0) on a release is an exact match; Minor
    // finds the closest version and keeps it instead of rolling to the latest patch.
    [InlineData("10.0.0", "LatestPatch", "10.0.0 10.0.12", "10.0.0")]
    [InlineData("10.0.0", "LatestPatch", "10.0.12", "-")]
    [InlineData("10.0.0", "Minor", "10.0.0 10.0.12", "10.0.0")]
    [InlineData("10.0.0", "Minor", "10.0.3 10.0.12", "10.0.3")]
    [InlineData("10.0.0", "Minor", "10.1.2 10.1.5", "10.1.2")]
    // ...while a pre-release still rolls over pre-releases of its own version.
    [InlineData("10.0.0-preview.1", "LatestPatch", "10.0.0-preview.2 10.0.0-preview.3", "10.0.0-preview.2")]
    public void LegacyApplyPatchesFalseKeepsThePatchFound(string requested, string policy, string installed, string expected)
    {
        Assert.True(FrameworkResolution.TryParse(policy, out var rollForward));
        var reference = Reference(requested, rollForward) with { ApplyPatches = false };
        Assert.Equal(expected, FrameworkResolution.Resolve(reference, Versions(installed)) ?? "-");
    }

    [Theory]
    [InlineData("LatestMajor", true)]
    [InlineData("latestmajor", true)]
    [InlineData("DISABLE", true)]
    [InlineData("Latest", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("2", false)]
    public void PoliciesParseIgnoringCase(string? value, bool valid) =>
        Assert.Equal(valid, FrameworkResolution.TryParse(value, out _));

    internal static FrameworkReference Reference(string version, RollForward rollForward)
    {
        var parsed = SemanticVersion.Parse(version);
        return new FrameworkReference("Microsoft.NETCore.App", version, parsed, rollForward, ApplyPatches: true, PreferRelease: !parsed.IsPrerelease, "test");
    }

    private static string[] Versions(string installed) => installed.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
