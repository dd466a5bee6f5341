using Nixery.Build.Nix;

namespace Nixery.Build.Tests.Nix;

public class DerivationNameTests
{
    /// <summary>What Nix 2.8 says: <c>nix-instantiate --eval --strict -E 'builtins.parseDrvName "..."'</c>.</summary>
    [Theory]
    [InlineData("jq-1.7.1", "jq", "1.7.1")]
    [InlineData("hello-world-2.0-rc1", "hello-world", "2.0-rc1")]
    [InlineData("nss-cacert-3.98", "nss-cacert", "3.98")]
    [InlineData("busybox", "busybox", "")]
    [InlineData("jq-1.6", "jq", "1.6")]
    [InlineData("nss-cacert-20230311", "nss-cacert", "20230311")]
    [InlineData("dotnet-runtime-10.0.12", "dotnet-runtime", "10.0.12")]
    [InlineData("gcc-12.2.0-lib", "gcc", "12.2.0-lib")]
    [InlineData("python3.11-requests-2.31.0", "python3.11-requests", "2.31.0")]
    [InlineData("a-b-c", "a-b-c", "")]
    [InlineData("foo-Bar-1", "foo-Bar", "1")]
    // Any character but an ASCII letter starts the version, a dash or underscore included.
    [InlineData("foo--1", "foo", "-1")]
    [InlineData("foo-_bar", "foo", "_bar")]
    [InlineData("foo-.1", "foo", ".1")]
    [InlineData("x-ébar", "x", "ébar")]
    [InlineData("foo-1-", "foo", "1-")]
    // A dash at the end does not split; one at the start leaves an empty name.
    [InlineData("foo-", "foo-", "")]
    [InlineData("-1.0", "", "1.0")]
    [InlineData("", "", "")]
    public void SplitsAsParseDrvNameDoes(string drvName, string name, string version)
    {
        Assert.Equal(new DerivationName(name, version), DerivationName.Parse(drvName));
    }

    [Fact]
    public void ParseRejectsNull()
    {
        Assert.Throws<ArgumentNullException>(() => DerivationName.Parse(null!));
    }

    [Theory]
    // The deriver nix path-info --json gives for /nix/store/9my4my64a1fr3g7gpjk1xm648f7ivpnb-jq-1.6.
    [InlineData("/nix/store/035r0afxnmf6zp4idq7gamva0r77kkh3-jq-1.6.drv", "jq", "1.6")]
    // narinfo files give the base name.
    [InlineData("035r0afxnmf6zp4idq7gamva0r77kkh3-jq-1.6.drv", "jq", "1.6")]
    [InlineData("/nix/store/1w9dyyhjsmhp257jphmf2c5l8abgxai3-icu4c-72.1.drv", "icu4c", "72.1")]
    [InlineData("/nix/store/41g2ssymrz9yy51gqhxxb7vzj4pzgdvs-hello-world-2.0-rc1.drv", "hello-world", "2.0-rc1")]
    [InlineData("/nix/store/41g2ssymrz9yy51gqhxxb7vzj4pzgdvs-busybox.drv", "busybox", "")]
    // A name that starts with a digit keeps it: only the 32-character hash and its dash go.
    [InlineData("/nix/store/41g2ssymrz9yy51gqhxxb7vzj4pzgdvs-7zip-23.01.drv", "7zip", "23.01")]
    // Another store folder, or none.
    [InlineData("/opt/nix/store/035r0afxnmf6zp4idq7gamva0r77kkh3-jq-1.6.drv", "jq", "1.6")]
    [InlineData("jq-1.7.1.drv", "jq", "1.7.1")]
    [InlineData("jq-1.7.1", "jq", "1.7.1")]
    public void ReadsTheDeriver(string deriver, string name, string version)
    {
        Assert.Equal(new DerivationName(name, version), DerivationName.FromDeriver(deriver));
    }

    [Fact]
    public void KeepsWhatOnlyLooksLikeAHash()
    {
        // 'e' is not a base-32 digit, so these 32 characters are part of the name.
        var fake = new string('e', 32);

        Assert.Equal(new DerivationName(fake + "-tool", "1"), DerivationName.FromDeriver($"/nix/store/{fake}-tool-1.drv"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    // What nix-store -q --deriver prints for a path with no deriver.
    [InlineData("unknown-deriver")]
    public void NoDeriverIsNull(string? deriver)
    {
        Assert.Null(DerivationName.FromDeriver(deriver));
    }
}
