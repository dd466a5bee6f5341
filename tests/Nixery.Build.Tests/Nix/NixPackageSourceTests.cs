using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Nix;

public sealed class NixPackageSourceTests : IDisposable
{
    private const string Revision = "4f0dadbf38ee4cf4cc38cbc232b7708fddf965bc";

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void NothingGivenMeansNixpkgsFromNixPath()
    {
        var source = NixPackageSource.From(null, " ", "", null, _temp.Path);

        Assert.IsType<NixPackageSource.SearchPath>(source);
        Assert.Equal("""{"type":"searchPath"}""", source.ToJson());
    }

    [Fact]
    public void AbsolutePathIsKept()
    {
        var file = _temp.CreateFile("pkgs/default.nix", "{ ... }: { }");

        var source = NixPackageSource.From(file, null, null, null, "/somewhere/else");

        Assert.Equal(new NixPackageSource.LocalPath(file), source);
        Assert.Equal($$"""{"type":"path","path":"{{file}}"}""", source.ToJson());
    }

    [Fact]
    public void RelativePathIsResolvedAgainstTheBaseDirectory()
    {
        var project = _temp.CreateDirectory("project");
        var folder = _temp.CreateDirectory("nixpkgs");

        var source = NixPackageSource.From("../nixpkgs/", null, null, null, project);

        Assert.Equal(new NixPackageSource.LocalPath(folder), source);
    }

    [Fact]
    public void MissingPathIsAnError()
    {
        var project = _temp.CreateDirectory("project");

        var error = Assert.Throws<NixImageException>(() => NixPackageSource.From("missing.nix", null, null, null, project));

        Assert.Equal("NIXIMG006", error.Code);
        Assert.Contains(Path.Combine(project, "missing.nix"), error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nixos-24.05", "https://github.com/NixOS/nixpkgs/archive/nixos-24.05.tar.gz")]
    [InlineData("nixos-unstable", "https://github.com/NixOS/nixpkgs/archive/nixos-unstable.tar.gz")]
    [InlineData(Revision, "https://github.com/NixOS/nixpkgs/archive/" + Revision + ".tar.gz")]
    public void ChannelNameMeansTheGitHubArchiveOfThatBranchOrCommit(string channel, string url)
    {
        var source = NixPackageSource.From(null, channel, null, null, _temp.Path);

        Assert.Equal(new NixPackageSource.Channel(channel, url), source);
        Assert.Equal($$"""{"type":"channel","name":"{{channel}}","url":"{{url}}"}""", source.ToJson());
        Assert.Equal($"channel {channel} ({url})", source.Describe());
    }

    [Fact]
    public void ChannelUrlIsKept()
    {
        const string Url = "https://nixos.org/channels/nixos-unstable/nixexprs.tar.xz";

        var source = NixPackageSource.From(null, Url, null, null, _temp.Path);

        Assert.Equal(new NixPackageSource.Channel(Url, Url), source);
        Assert.Equal(Url, source.Describe());
    }

    [Fact]
    public void GitRepositoryWithRevision()
    {
        var source = NixPackageSource.From(null, null, " https://github.com/NixOS/nixpkgs ", Revision, _temp.Path);

        Assert.Equal(new NixPackageSource.Git("https://github.com/NixOS/nixpkgs", Revision), source);
        Assert.Equal($$"""{"type":"git","url":"https://github.com/NixOS/nixpkgs","rev":"{{Revision}}"}""", source.ToJson());
    }

    [Fact]
    public void GitRepositoryWithoutRevision()
    {
        var source = NixPackageSource.From(null, null, "https://example.org/pkgs.git", null, _temp.Path);

        Assert.Equal(new NixPackageSource.Git("https://example.org/pkgs.git", null), source);
        Assert.Equal("""{"type":"git","url":"https://example.org/pkgs.git"}""", source.ToJson());
    }

    [Theory]
    [InlineData("x.nix", "nixos-24.05", null, "NixPkgsPath and NixPkgsChannel")]
    [InlineData("x.nix", null, "https://github.com/NixOS/nixpkgs", "NixPkgsPath and NixPkgsGitRepository")]
    [InlineData(null, "nixos-24.05", "https://github.com/NixOS/nixpkgs", "NixPkgsChannel and NixPkgsGitRepository")]
    [InlineData("x.nix", "nixos-24.05", "https://github.com/NixOS/nixpkgs", "NixPkgsPath and NixPkgsChannel and NixPkgsGitRepository")]
    public void MoreThanOneSourceIsAnError(string? path, string? channel, string? repository, string named)
    {
        _temp.CreateFile("x.nix", "{ }");

        var error = Assert.Throws<NixImageException>(() => NixPackageSource.From(path, channel, repository, null, _temp.Path));

        Assert.Equal("NIXIMG006", error.Code);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RevisionWithoutRepositoryIsAnError()
    {
        var error = Assert.Throws<NixImageException>(() => NixPackageSource.From(null, null, null, Revision, _temp.Path));

        Assert.Equal("NIXIMG006", error.Code);
        Assert.Contains("NixPkgsGitRevision", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("main")]
    [InlineData("4f0dadbf")]
    [InlineData("4f0dadbf38ee4cf4cc38cbc232b7708fddf965b")]
    [InlineData("4f0dadbf38ee4cf4cc38cbc232b7708fddf965bc0")]
    [InlineData("gf0dadbf38ee4cf4cc38cbc232b7708fddf965bc")]
    public void RevisionThatIsNotAFullCommitHashIsAnError(string revision)
    {
        var error = Assert.Throws<NixImageException>(() => NixPackageSource.From(null, null, "https://github.com/NixOS/nixpkgs", revision, _temp.Path));

        Assert.Equal("NIXIMG006", error.Code);
        Assert.Equal(ErrorCodes.InvalidPackageSource, error.Code);
        Assert.Contains(revision, error.Message, StringComparison.Ordinal);
    }
}
