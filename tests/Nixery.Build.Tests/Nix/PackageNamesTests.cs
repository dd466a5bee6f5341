using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;

namespace Nixery.Build.Tests.Nix;

public class PackageNamesTests
{
    [Fact]
    public void ShellExpandsToItsFourPackages()
    {
        var packages = PackageNames.Normalize([new PackageRequest("shell", "NixPackage")]);

        Assert.Equal(
            [
                new PackageRequest("bashInteractive", "NixPackage"),
                new PackageRequest("coreutils", "NixPackage"),
                new PackageRequest("moreutils", "NixPackage"),
                new PackageRequest("nano", "NixPackage"),
            ],
            packages);
    }

    [Fact]
    public void DuplicatesKeepTheFirstOrigin()
    {
        var packages = PackageNames.Normalize(
        [
            new PackageRequest("coreutils", "NixDefaultPackages"),
            new PackageRequest("jq", "NixPackage"),
            new PackageRequest("shell", "NixPackage"),
            new PackageRequest(" jq ", "NixDefaultPackages"),
        ]);

        Assert.Equal(
            [
                new PackageRequest("bashInteractive", "NixPackage"),
                new PackageRequest("coreutils", "NixDefaultPackages"),
                new PackageRequest("jq", "NixPackage"),
                new PackageRequest("moreutils", "NixPackage"),
                new PackageRequest("nano", "NixPackage"),
            ],
            packages);
    }

    [Fact]
    public void APackageAskedForItsToolAndForItsLibrariesIsTwoRequests()
    {
        // openssl as a NixPackage gives what the attribute names (the tool); as an app-host package, its libraries.
        var packages = PackageNames.Normalize(
        [
            new PackageRequest("openssl", PackageRequest.AppHostOrigin),
            new PackageRequest("openssl", "NixPackage"),
            new PackageRequest("glibc", PackageRequest.AppHostOrigin),
            new PackageRequest("openssl", "NixDefaultPackages"),
        ]);

        Assert.Equal(
            [
                new PackageRequest("glibc", PackageRequest.AppHostOrigin),
                new PackageRequest("openssl", PackageRequest.AppHostOrigin),
                new PackageRequest("openssl", "NixPackage"),
            ],
            packages.OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Origin, StringComparer.Ordinal));
        Assert.Equal([PackageOutput.Default, PackageOutput.Library], packages.Where(p => p.Name == "openssl").Select(p => p.Output));
    }

    [Fact]
    public void ResultIsInOrdinalOrderWhateverTheInputOrder()
    {
        string[] names = ["xorg.xev", "jq", "Zlib", "_7zz", "dotnetCorePackages.aspnetcore_10_0", "a"];

        var forward = PackageNames.Normalize(names.Select(n => new PackageRequest(n, "NixPackage")));
        var backward = PackageNames.Normalize(names.Reverse().Select(n => new PackageRequest(n, "NixPackage")));

        Assert.Equal(["Zlib", "_7zz", "a", "dotnetCorePackages.aspnetcore_10_0", "jq", "xorg.xev"], forward.Select(p => p.Name));
        Assert.Equal(forward, backward);
    }

    [Theory]
    [InlineData("jq")]
    [InlineData("xorg.xev")]
    [InlineData("gtk+3")]
    [InlineData("haskellPackages.lens'")]
    [InlineData("python3Packages.requests")]
    [InlineData("_1password")]
    public void ValidAttributePathsAreAccepted(string name)
    {
        Assert.Equal(name, Assert.Single(PackageNames.Normalize([new PackageRequest(name, "NixPackage")])).Name);
    }

    [Fact]
    public void InvalidNamesAreAllReportedAtOnce()
    {
        var error = Assert.Throws<NixImageException>(() => PackageNames.Normalize(
        [
            new PackageRequest("ripgrep", "NixPackage"),
            new PackageRequest("", "NixPackage"),
            new PackageRequest("a..b", "NixPackage"),
            new PackageRequest("a b", "NixDefaultPackages"),
            new PackageRequest("$x", "NixAppHostPackages"),
        ]));

        Assert.Equal("NIXIMG007", error.Code);
        Assert.Equal(ErrorCodes.InvalidPackageName, error.Code);
        Assert.Contains("'' (NixPackage)", error.Message, StringComparison.Ordinal);
        Assert.Contains("'a..b' (NixPackage)", error.Message, StringComparison.Ordinal);
        Assert.Contains("'a b' (NixDefaultPackages)", error.Message, StringComparison.Ordinal);
        Assert.Contains("'$x' (NixAppHostPackages)", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ripgrep", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(".jq")]
    [InlineData("jq.")]
    [InlineData("-jq")]
    [InlineData("a/b")]
    [InlineData("a\nb")]
    public void EachInvalidNameIsRejected(string name)
    {
        var error = Assert.Throws<NixImageException>(() => PackageNames.Normalize([new PackageRequest(name, "NixPackage")]));

        Assert.Equal("NIXIMG007", error.Code);
    }

    [Fact]
    public void SurroundingWhitespaceIsTrimmed()
    {
        Assert.Equal(new PackageRequest("jq", "NixPackage"), Assert.Single(PackageNames.Normalize([new PackageRequest(" jq\n", "NixPackage")])));
    }

    [Fact]
    public void NoPackagesGiveAnEmptyList()
    {
        Assert.Empty(PackageNames.Normalize([]));
    }
}
