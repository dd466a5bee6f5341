using Nixery.Build.Nix;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Nix;

public sealed class NixSourceIdentityTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public void PinnedSourcesHaveAnIdentityAndUnpinnedOnesNone()
    {
        const string Commit = "4f0dadbf38ee4cf4cc38cbc232b7708fddf965bc";

        Assert.NotNull(NixSourceIdentity.Of(new NixPackageSource.Git("https://github.com/NixOS/nixpkgs", Commit), null));
        Assert.Null(NixSourceIdentity.Of(new NixPackageSource.Git("https://github.com/NixOS/nixpkgs", null), null));
        Assert.NotNull(NixSourceIdentity.Of(new NixPackageSource.Channel(Commit, $"https://github.com/NixOS/nixpkgs/archive/{Commit}.tar.gz"), null));
        Assert.Null(NixSourceIdentity.Of(new NixPackageSource.Channel("nixos-unstable", "https://github.com/NixOS/nixpkgs/archive/nixos-unstable.tar.gz"), null));
        Assert.Null(NixSourceIdentity.Of(new NixPackageSource.SearchPath(), "nixpkgs=https://example.org/nixexprs.tar.xz"));
    }

    [Fact]
    public void LocalFolderIdentityFollowsItsFilesButNotGitOrResultLinks()
    {
        var set = _temp.CreateDirectory("set");
        _temp.CreateFile("set/default.nix", "{ ... }: { }");
        _temp.CreateFile("set/pkgs/jq.nix", "jq");
        var before = NixSourceIdentity.Of(new NixPackageSource.LocalPath(set), null);

        _temp.CreateFile("set/.git/index", "changes all the time");
        _temp.CreateSymlink("set/result", "/nix/store/whatever");
        Assert.Equal(before, NixSourceIdentity.Of(new NixPackageSource.LocalPath(set), null));

        File.WriteAllText(_temp.Combine("set/pkgs/jq.nix"), "jq, changed");
        Assert.NotEqual(before, NixSourceIdentity.Of(new NixPackageSource.LocalPath(set), null));
    }

    [Fact]
    public void FileUrlTarballIsIdentifiedByTheFile()
    {
        var tarball = _temp.CreateFile("nixexprs.tar.gz", "tar");
        var source = new NixPackageSource.Channel("file://" + tarball, "file://" + tarball);
        var before = NixSourceIdentity.Of(source, null);
        Assert.NotNull(before);

        File.WriteAllText(tarball, "another tar");
        Assert.NotEqual(before, NixSourceIdentity.Of(source, null));
    }

    [Fact]
    public void SearchPathNixpkgsIsFoundInNixPath()
    {
        var set = _temp.CreateDirectory("channels/nixpkgs");

        Assert.Equal(set, NixSourceIdentity.SearchPathEntry($"foo=https://x.org/a.tar.gz:nixpkgs={set}"));
        Assert.Equal(Path.Combine(_temp.Combine("channels"), "nixpkgs"), NixSourceIdentity.SearchPathEntry(_temp.Combine("channels")));
        Assert.Null(NixSourceIdentity.SearchPathEntry("nixpkgs=https://example.org/nixexprs.tar.xz"));
        Assert.Null(NixSourceIdentity.SearchPathEntry(null));
    }

    public void Dispose() => _temp.Dispose();
}
