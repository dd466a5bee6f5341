using Nixery.Build.BinaryCache;

namespace Nixery.Build.Tests.BinaryCache;

/// <summary>
/// Trusted public keys as Nix's <c>trusted-public-keys</c> writes them, <c>name:base64</c> of 32 bytes, alone or in a
/// list as an MSBuild property gives it; what is not one says why, without repeating the key.
/// </summary>
public class TrustedKeyTests
{
    [Fact]
    public void CacheNixosOrgsKeyIsRead()
    {
        var key = TrustedKey.Parse(TrustedKey.CacheNixosOrg);

        Assert.Equal("cache.nixos.org-1", key.Name);
        Assert.Equal(32, key.PublicKey.Length);
        Assert.Equal(0xe8, key.PublicKey[0]);
        Assert.Equal(TrustedKey.CacheNixosOrg, key.ToString());
    }

    [Fact]
    public void AKeyNixGeneratedIsRead()
    {
        var key = TrustedKey.Parse("  " + NarInfoTests.TestCache1Key + "\n");

        Assert.Equal("test-cache-1", key.Name);
        Assert.Equal(NarInfoTests.TestCache1Key, key.ToString());
    }

    [Fact]
    public void KeysAreEqualByNameAndBytes()
    {
        var a = TrustedKey.Parse(NarInfoTests.TestCache1Key);
        var b = TrustedKey.Parse(NarInfoTests.TestCache1Key);

        Assert.Equal(a, b);
        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, TrustedKey.Parse(NarInfoTests.TestCache1ImpostorKey));
        Assert.NotEqual(a, a with { Name = "test-cache-2" });
    }

    [Theory]
    [InlineData("cache.nixos.org-1", "no ':'")]
    [InlineData("", "no ':'")]
    [InlineData(":6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=", "empty name")]
    [InlineData("  :6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=", "empty name")]
    [InlineData("name:", "not base64")]
    [InlineData("name:not*base64", "not base64")]
    [InlineData("name:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY", "not base64")]
    [InlineData("name:AAAAAAAAAAAAAAAAAAAAAA==", "16 bytes")]
    [InlineData("name:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjYA", "33 bytes")]
    public void WhatIsNotAKeySaysWhy(string text, string why)
    {
        var e = Assert.Throws<FormatException>(() => TrustedKey.Parse(text));

        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASecretKeyGivenByMistakeIsToldApartAndNotRepeated()
    {
        var secret = Convert.ToBase64String(Enumerable.Range(1, 64).Select(i => (byte)i).ToArray());

        var e = Assert.Throws<FormatException>(() => TrustedKey.Parse("my-cache-1:" + secret));

        Assert.Contains("64 bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("secret key", e.Message, StringComparison.Ordinal);
        Assert.Contains("my-cache-1", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secret[..12], e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AListIsSplitAtWhitespaceAndSemicolonsWithoutRepeats()
    {
        var keys = TrustedKey.ParseList(
            $" {TrustedKey.CacheNixosOrg};{NarInfoTests.TestCache1Key}\n\t{NarInfoTests.TestCache2Key} ;; {TrustedKey.CacheNixosOrg}\r\n");

        Assert.Equal(["cache.nixos.org-1", "test-cache-1", "test-cache-2"], keys.Select(k => k.Name));
    }

    [Fact]
    public void AKeyRotationKeepsBothKeysOfOneName()
    {
        var keys = TrustedKey.ParseList($"{NarInfoTests.TestCache1Key} {NarInfoTests.TestCache1ImpostorKey}");

        Assert.Equal(2, keys.Count);
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ; \n ")]
    public void AnEmptyListHasNoKeys(string text) => Assert.Empty(TrustedKey.ParseList(text));

    [Fact]
    public void ABadKeyInAListIsAnError()
    {
        var e = Assert.Throws<FormatException>(() => TrustedKey.ParseList($"{TrustedKey.CacheNixosOrg} other-cache-1"));

        Assert.Contains("no ':'", e.Message, StringComparison.Ordinal);
    }
}
